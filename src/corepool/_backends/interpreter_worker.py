"""One subinterpreter worker: the loop thread's handle, and the thread that owns its interpreter.

    loop thread                         host thread "corepool-worker-N"      its subinterpreter
    ───────────                         ───────────────────────────────      ──────────────────
    InterpreterWorker.run(chunk)
      pickles a Call ── SimpleQueue ──▶ interp.exec(SERVE_ONE) ───────────▶ _worker.interpreter_main
    _deliver ◀── call_soon_threadsafe ── unpickles the reply ◀── outbox ───┘  (runs the items)
    position() ◀──── board row: a small file mapped by both interpreters ────┘

The host thread is the only one that enters the interpreter; the loop thread never blocks on it.
An abandoned worker (``kill``) is forgotten at once: its host thread stops after the item it is
running, and closes its interpreter.
"""

from __future__ import annotations

import collections
import mmap
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, MutableSequence
from types import CodeType, ModuleType
from typing import Any

from corepool._backends.base import (
    ChunkFinished,
    ChunkView,
    Flavour,
    JobView,
    Loop,
    WorkerHandle,
    WorkerListener,
    WorkerPosition,
)
from corepool._backends.frames_guard import GATE
from corepool._backends.pickled_calls import FunctionPayload, PackedOutcome
from corepool._wire import codec
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
)
from corepool._wire.rebuild import rebuild
from corepool._worker.interpreter_main import ABANDONED, ROW_LENGTH, InterpreterBoot

# As for worker processes: each job has its own token, so this bounds what a worker keeps.
_FUNCTION_CACHE_SIZE = 32

_BOOT = """\
import sys
sys.path[:] = _corepool_path
from corepool._worker.interpreter_main import InterpreterBoot, boot, serve_one as _corepool_serve
boot(InterpreterBoot(*_corepool_boot), _corepool_inbox, _corepool_outbox)
"""
# Compiled once: exec of a code object costs ~60 µs a chunk, of the same source ~120 µs.
_SERVE_ONE: CodeType = compile("_corepool_serve()", "<corepool-interpreter>", "exec")

_Reply = Ready | InitFailed | Done | CallUnreadable | FunctionUnreadable


class InterpreterWorker(WorkerHandle):
    """The loop thread's side of one worker; ``_host`` runs on the worker's own thread."""

    def __init__(
        self,
        boot: InterpreterBoot,
        api: ModuleType,
        loop: Loop,
        listener: WorkerListener,
        flavour: Flavour,
    ) -> None:
        self.index = boot.worker_index
        self.name = boot.name
        self._loop = loop
        self._listener = listener
        self._flavour = flavour
        # Each worker has a row of its own (not a slot of a shared board): an abandoned worker
        # still writes to its row while its replacement, with the same index, writes to another.
        self._board_file = tempfile.TemporaryFile()  # noqa: SIM115 - the host thread closes it
        self._board_file.truncate(ROW_LENGTH * 8)
        self._board = mmap.mmap(self._board_file.fileno(), ROW_LENGTH * 8)
        self._row: MutableSequence[int] = memoryview(self._board).cast("q")  # type: ignore[assignment]
        self._inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # None: stop
        self._abandoned = False
        self._known_functions: collections.OrderedDict[int, bool] = collections.OrderedDict()
        """Jobs whose function this worker holds, oldest first: whether it went by value."""
        self._running: ChunkView | None = None
        """The chunk sent last and not answered yet (to fail it if its function is unreadable)."""
        self._host_in_item = False
        """Set by the host thread while its interpreter runs a chunk (read by ``wait_closed``)."""
        boot = boot._replace(board_fd=self._board_file.fileno())
        self._thread = threading.Thread(target=self._host, args=(api, boot), name=self.name)
        self._thread.daemon = True  # an abandoned task must not hold the interpreter's exit
        self._thread.start()

    @property
    def pid(self) -> int | None:
        return None

    @property
    def host_alive(self) -> bool:
        """Whether the host thread still runs (its interpreter is open or closing)."""
        return self._thread.is_alive()

    def position(self) -> WorkerPosition:
        # Asked when a worker is lost, a timeout may have expired, or for statistics().
        from corepool._backends.board_position import position_from_row

        return position_from_row(self._row)

    def run(self, chunk: ChunkView) -> None:
        packed = chunk.payload
        assert isinstance(packed, PackedItems)
        self._running = chunk
        function, forget = self._function_for(chunk.job)
        call = Call(
            chunk.id,
            function,
            chunk.job.style,
            packed,
            forget,
            track_start_times=chunk.job.tracks_start_times,
        )
        self._inbox.put(codec.dumps_call(call))

    def _function_for(self, job: JobView) -> tuple[FunctionDef | FunctionRef, tuple[int, ...]]:
        if job.id in self._known_functions:
            return FunctionRef(job.id), ()
        payload = job.payload
        assert isinstance(payload, FunctionPayload)
        self._known_functions[job.id] = payload.by_value
        forget: list[int] = []
        while len(self._known_functions) > _FUNCTION_CACHE_SIZE:
            forget.append(self._known_functions.popitem(last=False)[0])
        return FunctionDef(job.id, payload.blob), tuple(forget)

    def stop(self) -> None:
        self._inbox.put(None)

    def kill(self) -> None:
        # A subinterpreter cannot be stopped mid-task: stop listening to it; its host thread
        # stops after the item it is running, and a new worker takes its place.
        if not self._abandoned:
            self._abandoned = True
            self._row[ABANDONED] = 1
            self._inbox.put(None)
            self._loop.call_soon(self._listener.worker_exited, self, None)

    terminate = kill

    def release(self) -> None:
        self._running = None

    def wait_closed(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the host thread to close its interpreter and end.

        Not while it still runs a chunk of an abandoned worker: that may never end, and the
        pool does not wait for abandoned work (as with threads).  An idle interpreter closes in
        milliseconds; one still open when the program exits is finalized by CPython itself
        while its host thread closes it, which crashes 3.13 now and then at exit.
        """
        if not self._host_in_item:
            self._thread.join(timeout)

    # -- the host thread

    def _host(self, api: ModuleType, boot: InterpreterBoot) -> None:
        exitcode = 1
        try:
            with GATE.running():
                interp = api.create()
        except Exception as error:  # noqa: BLE001 - the engine counts workers that fail to start
            _report(boot.name, "could not create its subinterpreter", error)
        else:
            try:
                exitcode = self._serve(api, interp, boot)
            except Exception as error:  # noqa: BLE001 - reported as the worker's death
                _report(boot.name, "lost its subinterpreter", error)
            finally:
                _close(interp, boot.name)
        finally:
            self._board_file.close()  # the subinterpreter mapped the row with a copy of the fd
            self._post(self._deliver_exit, exitcode)

    def _serve(self, api: ModuleType, interp: Any, boot: InterpreterBoot) -> int:
        inbox, outbox = api.create_queue(), api.create_queue()
        with GATE.running():
            interp.prepare_main(
                _corepool_path=boot.path,
                _corepool_boot=tuple(boot),  # a plain tuple: shareable, no import to unpickle
                _corepool_inbox=inbox,
                _corepool_outbox=outbox,
            )
            interp.exec(_BOOT)
        reply = codec.loads_from_worker(outbox.get_nowait())
        self._post(self._deliver, reply)
        if isinstance(reply, InitFailed):
            return 1
        while (frame := self._inbox.get()) is not None:
            inbox.put_nowait(frame)
            self._host_in_item = True
            try:
                with GATE.running():
                    interp.exec(_SERVE_ONE)  # returns when the chunk is done: its reply waits
            finally:
                self._host_in_item = False
            reply = codec.loads_from_worker(outbox.get_nowait())
            if self._row[ABANDONED]:
                return 0
            self._post(self._deliver, reply)
        return 0

    def _post(self, callback: Callable[..., object], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the pool is gone; nobody is listening
            pass

    # -- back on the loop thread

    def _deliver(self, reply: _Reply) -> None:
        if self._abandoned:
            return
        listener = self._listener
        if isinstance(reply, (Done, CallUnreadable)):
            self._running = None
        if isinstance(reply, Done):
            outcome = PackedOutcome(reply, self._flavour)
            listener.chunk_finished(self, ChunkFinished(reply.chunk_id, outcome, reply.seconds))
        elif isinstance(reply, Ready):
            listener.worker_ready(self)
        elif isinstance(reply, CallUnreadable):
            listener.chunk_unreadable(self, reply.chunk_id, rebuild(reply.error))
        elif isinstance(reply, FunctionUnreadable):
            self._function_unreadable(reply)
        else:
            listener.worker_init_failed(self, rebuild(reply.error, self._flavour))

    def _function_unreadable(self, reply: FunctionUnreadable) -> None:
        """Forget the function and tell the engine, which sends it again by value; if it went
        by value already (a module the subinterpreter cannot import), its items fail."""
        chunk = self._running
        if chunk is None or chunk.id != reply.chunk_id:
            return
        self._running = None
        job = chunk.job
        # What this worker was sent, not the job's payload now: another worker's failure may
        # have had the function prepared by value since.
        if self._known_functions.pop(job.id, False):
            size = len(chunk.items)
            errors = dict.fromkeys(range(size), reply.error)
            self._deliver(Done(chunk.id, PackedItems(size, None), errors, 0.0))
            return
        self._listener.function_unreadable(self, chunk.id, rebuild(reply.error))

    def _deliver_exit(self, exitcode: int) -> None:
        if not self._abandoned:
            self._listener.worker_exited(self, exitcode)


def _report(name: str, what: str, error: BaseException) -> None:
    # Like a worker process's dying words on stderr: WorkerStartError points the user there.
    print(f"corepool: {name} {what}: {type(error).__name__}: {error}", file=sys.stderr)


def _close(interp: Any, name: str) -> None:
    try:
        with GATE.running():  # closing runs the interpreter's exit code
            interp.close()
    except Exception as error:  # noqa: BLE001 - e.g. a task left a thread running in it
        _report(name, "could not close its subinterpreter", error)
