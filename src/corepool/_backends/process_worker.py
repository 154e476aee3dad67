"""One worker process as the parent sees it: its channel, its row of the progress board, its exit.

The loop thread drives it: ``run`` frames a ``Call`` into the channel (never blocking: what does
not fit waits for the channel to be writable), ``_on_readable`` turns the worker's frames into
listener events, and the process sentinel tells ``_on_exit``.  The worker keeps the functions it
was sent (by token, up to ``_FUNCTION_CACHE_SIZE``); a chunk whose function it could not read
comes back to the engine to be sent again by value.
"""

from __future__ import annotations

import collections
import multiprocessing.process
import socket
from collections.abc import MutableSequence

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
from corepool._backends.pickled_calls import FunctionPayload, PackedOutcome
from corepool._wire import codec
from corepool._wire.framing import ChannelClosed, FrameReader, FrameWriter
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

# How many functions a worker keeps unpickled, by token: a job's own, or one that jobs of the same
# function share (``pickled_calls.PackedFunctions``).  This bounds the worker's cache when many
# calls with different functions run one after another.
_FUNCTION_CACHE_SIZE = 32
# A worker whose initializer failed exits within milliseconds, and its failure is told when it
# has (``_tell_init_failure``); one kept alive (by a thread its initializer started) is told
# about after this long, so that the pool never waits on it.
_INIT_FAILURE_GRACE = 2.0


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
        self._flush_planned = False
        self._exited = False
        self._known_functions: collections.deque[int] = collections.deque()
        self._init_failure: BaseException | None = None
        self._sent: dict[int, tuple[ChunkView, bool | None, int]] = {}
        """Chunks sent and not answered yet, by id, each with how its function travelled (True
        by value, False by reference, None named by token only: defined by an earlier call)
        and its token.
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
        # Asked when a worker is lost, a timeout may have expired, or for statistics().
        from corepool._backends.board_position import position_from_row

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
        self._sent[chunk.id] = (chunk, by_value, function.token)
        call = Call(
            chunk.id,
            function,
            chunk.job.style,
            packed,
            forget,
            track_start_times=chunk.job.tracks_start_times,
        )
        self._send(codec.dumps_call(call), at_end_of_round=True)

    def _function_for(self, job: JobView) -> tuple[FunctionDef | FunctionRef, tuple[int, ...]]:
        payload = job.payload
        assert isinstance(payload, FunctionPayload)
        token = payload.token
        if token in self._known_functions:
            return FunctionRef(token), ()
        self._known_functions.append(token)
        forget: list[int] = []
        while len(self._known_functions) > _FUNCTION_CACHE_SIZE:
            forget.append(self._known_functions.popleft())
        return FunctionDef(token, payload.blob), tuple(forget)

    def _function_unreadable(self, message: FunctionUnreadable) -> None:
        """Forget the function (it is sent afresh next time) and tell the engine, which sends it
        again by value, or fails the chunk's items if it went by value already.

        A chunk queued behind one whose function could not be read names the function by token
        only and fails too: it goes back to the engine, and its function travels afresh."""
        sent = self._sent.pop(message.chunk_id, None)
        if sent is None:
            return
        chunk, by_value, token = sent
        if token in self._known_functions:
            self._known_functions.remove(token)
        from corepool._wire.rebuild import rebuild  # a worker's error: loaded when one comes

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
        self._send(codec.dumps_to_worker(Stop()))

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

    def _send(self, frame: bytes, *, at_end_of_round: bool = False) -> None:
        """Queue a frame for the worker and send it now, or with the others of this round of the
        loop (a read of 20 results hands out 20 calls: one ``send`` for them, not 20)."""
        if self.channel_fd < 0:
            return
        self._writer.add(frame)
        if not at_end_of_round:
            self._flush()
        elif not self._flush_planned:
            self._flush_planned = True
            self._loop.at_end_of_round(self._flush)

    def _flush(self) -> None:
        self._flush_planned = False
        if self.channel_fd < 0:
            return
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
            self._dispatch(codec.loads_from_worker(frame))

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
            from corepool._wire.rebuild import rebuild

            listener.chunk_unreadable(self, message.chunk_id, rebuild(message.error))
        elif isinstance(message, FunctionUnreadable):
            self._function_unreadable(message)
        elif isinstance(message, InitFailed):
            from corepool._wire.rebuild import rebuild

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
