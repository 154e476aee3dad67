"""Worker processes, each with its own channel to the parent.

    parent (loop thread)                                        worker process
    ProcessWorker.run(chunk) ─ Call frame ─▶ socketpair ─▶ _worker.process_main
    _on_readable ◀──────────── Done frame ◀─ socketpair ◀─┘
    _on_exit ◀─── process sentinel (readable when the process ends)
                  lifeline pipe: write end held only by the parent; EOF tells workers it died
                  progress board: shared int64 rows, written by workers, read by the parent

One chunk at a time per worker: the parent always knows exactly which chunk, and from the board
which item, a worker holds.  The parent's ends of the channels are non-blocking and driven by the
event loop; see ``_wire.framing`` for why it must never block.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.context
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corepool._backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    ChunkView,
    Flavour,
    JobView,
    Loop,
    WorkerHandle,
    WorkerListener,
)
from corepool._backends.pickled_calls import PackedFunctions, pack_items, pack_items_isolated
from corepool._backends.process_worker import ProcessWorker
from corepool._lifecycle.process_start import WORKER_MODULE, unimportable_main_hidden
from corepool._lifecycle.start_method import resolve_context, uses_zygote
from corepool._wire import serialization
from corepool._worker import progress
from corepool._worker.boot import WorkerBoot, run_worker
from corepool._worker.native_threads import auto_limit
from corepool.settings import Settings

if TYPE_CHECKING:
    from corepool._lifecycle.zygote import Zygote
    from corepool._wire.initializer import WorkerInitializer

# Where a failing initializer is logged in the worker: as the standard executors log it.
_INITIALIZER_LOGGER = {Flavour.CONCURRENT_FUTURES: "concurrent.futures"}


def create(options: BackendOptions) -> ProcessBackend:
    context = resolve_context(options.context)
    zygote: Zygote | None = None
    from_zygote = False
    if uses_zygote(context):
        from corepool._lifecycle.zygote import ZYGOTE

        # Here, on the thread creating the pool, before the pool starts threads of its own: the
        # zygote can only be forked while the program has one thread (``_lifecycle.zygote``).
        zygote = ZYGOTE
        from_zygote = zygote.start_if_harmless(options.settings.zygote_max_parent_bytes)
    backend = ProcessBackend(
        context,
        options.size,
        options.settings,
        options.initializer,
        options.initargs,
        native_thread_limit(options.native_threads, options.size),
        options.measure_memory,
        options.flavour or Flavour.MULTIPROCESSING,
        zygote,
    )
    if from_zygote or backend.forks_the_program:
        backend.launch_ahead(options.size)
    return backend


def native_thread_limit(native_threads: object, size: int) -> int | None:
    if native_threads is None:
        return None
    if native_threads == "auto":
        return auto_limit(size)
    if (
        isinstance(native_threads, int)
        and not isinstance(native_threads, bool)
        and native_threads >= 1
    ):
        return native_threads
    raise ValueError(
        f"native_threads must be 'auto', None or a positive int, not {native_threads!r}"
    )


class ProcessBackend(Backend):
    def __init__(
        self,
        context: multiprocessing.context.BaseContext,
        size: int,
        settings: Settings,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
        native_threads: int | None,
        measure_memory: bool = False,
        flavour: Flavour = Flavour.MULTIPROCESSING,
        zygote: Zygote | None = None,
    ) -> None:
        self._flavour = flavour  # which standard library's exceptions a task's failure becomes
        self.capabilities = Capabilities("processes", kills_workers=True, isolates_workers=True)
        self._context = context
        self._start_method = context.get_start_method()
        self._zygote = zygote
        """The zygote, if this pool's start method is the one it serves (``uses_zygote``)."""
        self._functions = PackedFunctions()
        self._settings = settings
        self._native_threads = native_threads
        self._measure_memory = measure_memory
        self._board = progress.Board(size)
        try:
            self._lifeline_reader, self._lifeline_writer = context.Pipe(duplex=False)
        except BaseException:
            self._board.close()
            raise
        self._initializer = _worker_initializer(initializer, initargs, self._start_method, flavour)
        if self._start_method == "fork":
            # Every fork of the program inherits the worker's loop only if the program has it;
            # the zygote, a forkserver and a spawned worker import it themselves (``boot``).
            importlib.import_module(WORKER_MODULE)
        self._workers: dict[int, ProcessWorker] = {}
        self._ahead: dict[int, tuple[multiprocessing.process.BaseProcess, socket.socket]] = {}
        """Workers asked of the zygote before the engine existed, not adopted yet."""

    def launch_ahead(self, count: int) -> None:
        """Start the first ``count`` workers now, on the thread creating the pool;
        ``start_worker`` adopts them.

        The zygote then forks them while the program builds the rest of the pool (its threads,
        the dispatcher), instead of after: a first pool ran its first task ~1 ms sooner
        (benchmarks/start_first).  Under ``fork`` the program itself forks them here, as
        ``multiprocessing.Pool`` does, before the pool has a thread of its own: the loop thread
        forked them after the pool existed, so that the first task waited for both forks (a
        pool's lifecycle ~0.3 ms slower than ``multiprocessing.Pool``'s, benchmarks/start), and
        a single-threaded program forked with the pool's threads alive.  A worker forked from
        the program closes the channels of those forked before it (``_fds_a_fork_inherits``).
        A start that fails here is left to ``start_worker``, which meets the failure again and
        reports it."""
        for index in range(count):
            try:
                self._ahead[index] = self._launch(index)
            except Exception:  # noqa: BLE001 - the engine's start of this worker says what failed
                return

    def prepare_job(self, job: JobView, *, by_value: bool = False) -> None:
        self._functions.pack(job, by_value=by_value, workers_hold_it=self._zygote_holds)

    def _zygote_holds(self, fn: object) -> bool:
        """Whether the workers of this pool come from the zygote, whose copy of ``__main__``
        holds ``fn`` under its name (``Zygote.holds_by_name``).  Should a worker come from
        elsewhere after all (the zygote was killed), it checks what it has by that name
        (``_wire.main_reference``)."""
        if self._zygote is None or getattr(fn, "__module__", None) != "__main__":
            return False
        return self._zygote.holds_by_name(fn)

    def prepare_chunk(self, chunk: ChunkView) -> None:
        pack_items(chunk)

    def repack_isolated(self, chunk: ChunkView) -> None:
        pack_items_isolated(chunk)

    # -- loop thread

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        launched = self._ahead.pop(index, None)
        process, parent_end = launched if launched is not None else self._launch(index)
        row = self._board.row(index)
        worker = ProcessWorker(index, process, parent_end, row, loop, listener, self._flavour)
        self._workers[index] = worker
        return worker

    def _launch(self, index: int) -> tuple[multiprocessing.process.BaseProcess, socket.socket]:
        """Start worker ``index``'s process: the process and the parent's end of its channel."""
        parent_end, child_end = socket.socketpair()
        for end in (parent_end, child_end):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._settings.channel_buffer_bytes)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._settings.channel_buffer_bytes)
        boot = WorkerBoot(
            worker_index=index,
            channel=child_end,
            lifeline=self._lifeline_reader,
            board=self._board,
            initializer=self._initializer,
            native_threads=self._native_threads,
            measure_memory=self._measure_memory,
            inherited_fds=self._fds_a_fork_inherits(parent_end),
        )
        process_class = (
            _spawned_worker() if self._start_method == "spawn" else self._context.Process  # type: ignore[attr-defined]
        )
        process = process_class(target=run_worker, args=(boot,), name=f"corepool-worker-{index}")
        process.daemon = False  # so that a task may start a pool of its own
        # Read by the zygote (``ZygoteProcess.native_threads``), which caps what it has loaded.
        process.native_threads = self._native_threads  # type: ignore[union-attr]
        hiding = (
            contextlib.nullcontext()
            if getattr(process, "hides_unimportable_main", False)
            else unimportable_main_hidden()
        )
        try:
            with hiding:
                process.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        return process, parent_end

    def _fds_a_fork_inherits(self, own_parent_end: socket.socket) -> tuple[int, ...]:
        # A forked child inherits every descriptor of the parent; holding the lifeline's write
        # end would keep it from ever seeing the parent die, and holding the parent's end of a
        # channel (its own among them) from ever seeing that channel end, so the child closes
        # these.
        if self._start_method != "fork":
            return ()
        fds = [self._lifeline_writer.fileno(), own_parent_end.fileno()]
        fds.extend(worker.channel_fd for worker in self._workers.values() if worker.channel_fd >= 0)
        fds.extend(parent_end.fileno() for _, parent_end in self._ahead.values())
        return tuple(fds)

    @property
    def forks_the_program(self) -> bool:
        """Workers are forked from the program itself (the ``fork`` start method)."""
        return self._start_method == "fork"

    def close(self) -> None:
        # Workers launched ahead that the pool never adopted (it failed to start): not left to
        # find out through their lifeline, and never a zombie.
        while self._ahead:
            process, parent_end = self._ahead.popitem()[1]
            parent_end.close()
            process.kill()
            process.join()
            process.close()
        self._lifeline_writer.close()
        self._lifeline_reader.close()
        self._board.close()


def _worker_initializer(
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
    start_method: str,
    flavour: Flavour,
) -> WorkerInitializer | None:
    if initializer is None:
        return None
    from corepool._wire.initializer import WorkerInitializer

    return WorkerInitializer(
        initializer,
        initargs,
        by_value=serialization.function_travels_by_value(initializer),
        pickled_up_front=start_method != "fork",
        log_failures_to=_INITIALIZER_LOGGER.get(flavour),
    )


def _spawned_worker() -> type[multiprocessing.process.BaseProcess]:
    from corepool._worker.spawned import SpawnedWorker

    return SpawnedWorker
