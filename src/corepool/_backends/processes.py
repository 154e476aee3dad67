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

import array
import collections
import contextlib
import multiprocessing
import multiprocessing.context
import pickle
import socket
from collections.abc import Callable, MutableSequence
from multiprocessing import heap
from typing import Any

from corepool._backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    ChunkFinished,
    ChunkView,
    JobView,
    Loop,
    WorkerHandle,
    WorkerListener,
    WorkerPosition,
)
from corepool._backends.board_position import position_from_row
from corepool._backends.pickled_calls import (
    FunctionPayload,
    PackedOutcome,
    pack_function,
    pack_items,
    pack_items_isolated,
)
from corepool._lifecycle.start_method import (
    resolve_context,
    unimportable_main_hidden,
    uses_zygote,
)
from corepool._wire import serialization
from corepool._wire.framing import ChannelClosed, FrameReader, FrameWriter
from corepool._wire.initializer import WorkerInitializer
from corepool._wire.messages import (
    Call,
    CallUnreadable,
    Done,
    FunctionDef,
    FunctionRef,
    FunctionUnreadable,
    InitFailed,
    PackedItems,
    Ready,
    Stop,
)
from corepool._wire.rebuild import Flavour, rebuild
from corepool._worker import progress
from corepool._worker.native_threads import auto_limit
from corepool._worker.process_main import WorkerBoot, worker_process_main
from corepool._worker.spawned import SpawnedWorker
from corepool.settings import Settings

# How many functions a worker keeps unpickled.  Each job has its own token, so this bounds the
# worker's cache when many calls with different functions run one after another.
_FUNCTION_CACHE_SIZE = 32
# A worker whose initializer failed exits within milliseconds, and its failure is told when it
# has (``_tell_init_failure``); one kept alive (by a thread its initializer started) is told
# about after this long, so that the pool never waits on it.
_INIT_FAILURE_GRACE = 2.0
# Where a failing initializer is logged in the worker: as the standard executors log it.
_INITIALIZER_LOGGER = {Flavour.CONCURRENT_FUTURES: "concurrent.futures"}


def create(options: BackendOptions) -> ProcessBackend:
    context = resolve_context(options.context)
    if uses_zygote(context):
        from corepool._lifecycle.zygote import ZYGOTE

        # Here, on the thread creating the pool, before the pool starts threads of its own: the
        # zygote can only be forked while the program has one thread (``_lifecycle.zygote``).
        ZYGOTE.start_if_harmless(options.settings.zygote_max_parent_bytes)
    return ProcessBackend(
        context,
        options.size,
        options.settings,
        options.initializer,
        options.initargs,
        native_thread_limit(options.native_threads, options.size),
        options.measure_memory,
        options.flavour or Flavour.MULTIPROCESSING,
    )


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
    ) -> None:
        self._flavour = flavour  # which standard library's exceptions a task's failure becomes
        self.capabilities = Capabilities("processes", kills_workers=True, isolates_workers=True)
        self._context = context
        self._start_method = context.get_start_method()
        self._settings = settings
        self._native_threads = native_threads
        self._measure_memory = measure_memory
        # A bare ``multiprocessing.heap`` buffer rather than a ``RawArray``: a worker then unpickles
        # it without importing ctypes and ``sharedctypes`` (~3 ms of every spawned worker's start).
        self._board = heap.BufferWrapper(size * progress.ROW_SIZE * 8)
        self._board_view = self._board.create_memoryview().cast("q")
        self._board_view[:] = array.array("q", bytes(self._board_view.nbytes))  # blocks are reused
        self._lifeline_reader, self._lifeline_writer = context.Pipe(duplex=False)
        self._initializer = (
            WorkerInitializer(
                initializer,
                initargs,
                by_value=serialization.function_travels_by_value(initializer),
                pickled_up_front=self._start_method != "fork",
                log_failures_to=_INITIALIZER_LOGGER.get(flavour),
            )
            if initializer is not None
            else None
        )
        self._workers: dict[int, ProcessWorker] = {}

    # -- submitting thread

    def prepare_job(self, job: JobView, *, by_value: bool = False) -> None:
        pack_function(job, by_value=by_value)

    def prepare_chunk(self, chunk: ChunkView) -> None:
        pack_items(chunk)

    def repack_isolated(self, chunk: ChunkView) -> None:
        pack_items_isolated(chunk)

    # -- loop thread

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
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
            inherited_fds=self._fds_a_fork_inherits(),
        )
        process_class = (
            SpawnedWorker if self._start_method == "spawn" else self._context.Process  # type: ignore[attr-defined]
        )
        process = process_class(
            target=worker_process_main, args=(boot,), name=f"corepool-worker-{index}"
        )
        process.daemon = False  # so that a task may start a pool of its own
        hiding = (
            contextlib.nullcontext()
            if getattr(process, "hides_unimportable_main", False)
            else unimportable_main_hidden()
        )
        try:
            with hiding:
                process.start()
        finally:
            child_end.close()
        start = index * progress.ROW_SIZE
        row: MutableSequence[int] = self._board_view[start : start + progress.ROW_SIZE]  # type: ignore[assignment]
        worker = ProcessWorker(index, process, parent_end, row, loop, listener, self._flavour)
        self._workers[index] = worker
        return worker

    def _fds_a_fork_inherits(self) -> tuple[int, ...]:
        # A forked child inherits every descriptor of the parent; holding the lifeline's write
        # end would keep it from ever seeing the parent die, so the child closes these.
        if self._start_method != "fork":
            return ()
        fds = [self._lifeline_writer.fileno()]
        fds.extend(worker.channel_fd for worker in self._workers.values() if worker.channel_fd >= 0)
        return tuple(fds)

    def close(self) -> None:
        self._lifeline_writer.close()
        self._lifeline_reader.close()
        self._board_view.release()


class ProcessWorker(WorkerHandle):
    def __init__(
        self,
        index: int,
        process: multiprocessing.process.BaseProcess,
        channel: socket.socket,
        row: MutableSequence[int],
        loop: Loop,
        listener: WorkerListener,
        flavour: Flavour = Flavour.MULTIPROCESSING,
    ) -> None:
        self.index = index
        self._flavour = flavour
        self.name = process.name
        self._row = row
        self._process = process
        # Read when first asked (the zygote tells it without making the start wait), and kept:
        # the process object is closed once it is released.
        self._pid: int | None = None
        self._channel = channel
        self._loop = loop
        self._listener = listener
        self._reader = FrameReader()
        self._writer = FrameWriter()
        self._writing = False
        self._exited = False
        self._known_functions: collections.deque[int] = collections.deque()
        self._init_failure: BaseException | None = None
        self._sent: dict[int, tuple[ChunkView, bool | None]] = {}
        """Chunks sent and not answered yet, by id, each with how its function travelled (True
        by value, False by reference, None named by token only: defined by an earlier call).
        Kept to resend them, never longer: their items may hold shared objects whose memory
        goes when the last reference does."""
        channel.setblocking(False)
        self.channel_fd = channel.fileno()
        loop.add_reader(self.channel_fd, self._on_readable)
        loop.add_reader(process.sentinel, self._on_exit)

    @property
    def pid(self) -> int | None:
        if self._pid is None:
            try:
                self._pid = self._process.pid
            except ValueError:  # closed, and the zygote never told it
                pass
        return self._pid

    def position(self) -> WorkerPosition:
        return position_from_row(self._row)

    queues_chunks = True  # calls wait in the channel; the worker reads the next when it is done

    def run(self, chunk: ChunkView) -> None:
        packed = chunk.payload
        assert isinstance(packed, PackedItems)
        function, forget = self._function_for(chunk.job)
        by_value = None
        if isinstance(function, FunctionDef):
            payload = chunk.job.payload
            by_value = isinstance(payload, FunctionPayload) and payload.by_value
        self._sent[chunk.id] = (chunk, by_value)
        call = Call(
            chunk.id,
            function,
            chunk.job.style,
            packed,
            forget,
            track_start_times=chunk.job.tracks_start_times,
        )
        self._send(pickle.dumps(call, pickle.HIGHEST_PROTOCOL))

    def _function_for(self, job: JobView) -> tuple[FunctionDef | FunctionRef, tuple[int, ...]]:
        if job.id in self._known_functions:
            return FunctionRef(job.id), ()
        payload = job.payload
        assert isinstance(payload, FunctionPayload)
        self._known_functions.append(job.id)
        forget: list[int] = []
        while len(self._known_functions) > _FUNCTION_CACHE_SIZE:
            forget.append(self._known_functions.popleft())
        return FunctionDef(job.id, payload.blob), tuple(forget)

    def _function_unreadable(self, message: FunctionUnreadable) -> None:
        """Forget the function (it is sent afresh next time) and tell the engine, which sends it
        again by value, or fails the chunk's items if it went by value already.

        A chunk queued behind one whose function could not be read names the function by token
        only and fails too: it goes back to the engine, and its function travels afresh."""
        sent = self._sent.pop(message.chunk_id, None)
        if sent is None:
            return
        chunk, by_value = sent
        job = chunk.job
        if job.id in self._known_functions:
            self._known_functions.remove(job.id)
        error = rebuild(message.error)
        if by_value:
            size = len(chunk.items)
            self._dispatch(
                Done(
                    chunk.id,
                    PackedItems(size, None),
                    dict.fromkeys(range(size), message.error),
                    0.0,
                )
            )
            return
        self._listener.function_unreadable(self, chunk.id, error)

    def stop(self) -> None:
        self._send(pickle.dumps(Stop(), pickle.HIGHEST_PROTOCOL))

    def kill(self) -> None:
        if not self._exited:
            self._process.kill()

    def terminate(self) -> None:
        if not self._exited:
            self._process.terminate()

    def release(self) -> None:
        self._sent.clear()
        if self.channel_fd >= 0:
            self._loop.remove_reader(self.channel_fd)
            if self._writing:
                self._loop.remove_writer(self.channel_fd)
            self._channel.close()
            self.channel_fd = -1
        if self._exited:
            self.pid  # noqa: B018 - read before the process object is closed
            self._process.close()

    # -- event loop callbacks

    def _send(self, frame: bytes) -> None:
        if self.channel_fd < 0:
            return
        self._writer.add(frame)
        self._flush()

    def _flush(self) -> None:
        try:
            done = self._writer.write_available(self._channel)
        except ChannelClosed:
            done = True  # the worker is gone; its sentinel will tell the dispatcher
        if done and self._writing:
            self._loop.remove_writer(self.channel_fd)
            self._writing = False
        elif not done and not self._writing:
            self._loop.add_writer(self.channel_fd, self._flush)
            self._writing = True

    def _on_readable(self) -> None:
        frames, closed = self._reader.read_available(self._channel)
        if closed:
            self._loop.remove_reader(self.channel_fd)
        for frame in frames:
            self._dispatch(pickle.loads(frame))

    def _dispatch(self, message: object) -> None:
        listener = self._listener
        if isinstance(message, (Done, CallUnreadable)):
            self._sent.pop(message.chunk_id, None)
        if isinstance(message, Done):
            listener.chunk_finished(
                self,
                ChunkFinished(
                    message.chunk_id,
                    PackedOutcome(message, self._flavour),
                    message.seconds,
                    message.rss,
                    message.cpu,
                    message.overhead,
                    message.queued,
                ),
            )
        elif isinstance(message, Ready):
            listener.worker_ready(self)
        elif isinstance(message, CallUnreadable):
            listener.chunk_unreadable(self, message.chunk_id, rebuild(message.error))
        elif isinstance(message, FunctionUnreadable):
            self._function_unreadable(message)
        elif isinstance(message, InitFailed):
            self._init_failure = rebuild(message.error, self._flavour)
            self._loop.call_later(_INIT_FAILURE_GRACE, self._tell_init_failure)
        else:  # pragma: no cover - a bug in the protocol
            raise TypeError(f"unexpected message from a worker: {message!r}")

    def _on_exit(self) -> None:
        self._loop.remove_reader(self._process.sentinel)
        # Messages sent just before the exit may still be in the channel: read them first.
        if self.channel_fd >= 0:
            self._on_readable()
        self._process.join()
        self._exited = True
        self._tell_init_failure()
        self._listener.worker_exited(self, self._process.exitcode)

    def _tell_init_failure(self) -> None:
        """The initializer failed: told once the worker has exited (or after a grace period).

        On its way out the worker flushes what its initializer left in flight (a log record on
        a ``multiprocessing.Queue`` handler, as CPython's ``test_init`` checks); the standard
        executor sees the pool broken only after that exit, so a program reading that queue
        then finds the record there.
        """
        error, self._init_failure = self._init_failure, None
        if error is not None:
            self._listener.worker_init_failed(self, error)
