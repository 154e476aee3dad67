"""One slot of a pool on a Dask cluster, as the engine sees it: a ``WorkerHandle`` whose chunks go
to the cluster as Dask tasks (``dask.DaskBackend`` makes the slots; this module is the handle's
side: sending a chunk, hearing its future, telling the engine what became of it).
"""

from __future__ import annotations

import collections
import time
from typing import TYPE_CHECKING, Any

from corepool._backends.base import (
    ChunkFinished,
    ChunkView,
    Loop,
    Outcome,
    Phase,
    WorkerHandle,
    WorkerListener,
    WorkerPosition,
)
from corepool._backends.dask import (
    DaskBackend,
    DaskJob,
    DaskOutcome,
)
from corepool._backends.dask_task import (
    DaskDone,
    DaskInitFailed,
    DaskUnreadable,
)
from corepool._wire.rebuild import rebuild
from corepool.errors import WorkerLostError

if TYPE_CHECKING:
    import distributed


class _InFlight:
    """A chunk sent to the cluster as one Dask task, and its answer once it came."""

    __slots__ = ("answer", "answered", "chunk", "future")

    def __init__(self, chunk: ChunkView, future: distributed.Future) -> None:
        self.chunk = chunk
        self.future = future
        self.answer: object = None
        self.answered = False


class DaskSlot(WorkerHandle):
    """One slot of concurrency on the cluster: runs one chunk (one Dask task), and may hold one
    more sent ahead (``queues_chunks``), so that a Dask worker never waits the milliseconds of
    a round trip for its next task (``DaskBackend.tuned``).  Answers are reported in the order
    the chunks were sent, as the engine expects of a worker that queues: a chunk sent ahead may
    finish first on another Dask worker, and then waits here for the one before it."""

    queues_chunks = True

    def __init__(
        self, index: int, backend: DaskBackend, loop: Loop, listener: WorkerListener
    ) -> None:
        self.index = index
        self.name = f"dask-{index}"
        self._backend = backend
        self._loop = loop
        self._listener = listener
        self._position = WorkerPosition(0, Phase.RUNNING, 0, 0)
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._stopping = self._gone = False
        loop.call_soon(listener.worker_ready, self)

    @property
    def pid(self) -> int | None:
        return None  # a process of another host, maybe: the name carries the Dask worker

    def position(self) -> WorkerPosition:
        return self._position

    def run(self, chunk: ChunkView) -> None:
        if not self._in_flight:
            self._position = WorkerPosition(chunk.id, Phase.RUNNING, 0, time.monotonic_ns())
        future = self._backend.submit(chunk)
        self._in_flight.append(_InFlight(chunk, future))
        future.add_done_callback(self._on_done)

    def _on_done(self, future: distributed.Future) -> None:
        """On Dask's callback thread: fetch the answer there, hand it to the loop thread."""
        if self._gone:
            return
        try:
            answer: object = future.result()
        except BaseException as error:  # noqa: BLE001 - KilledWorker, a cancel, a lost client
            answer = error
        try:
            self._loop.call_soon_threadsafe(self._finished, future, answer)
        except RuntimeError:  # the pool's loop is closed: nobody is listening
            pass

    def _finished(self, future: distributed.Future, answer: object) -> None:
        if self._gone:
            return
        for sent in self._in_flight:
            if sent.future is future:
                sent.answer, sent.answered = answer, True
                break
        else:
            return  # given up on (a timeout, a cancel): its slot is gone
        while self._in_flight and self._in_flight[0].answered and not self._gone:
            sent = self._in_flight.popleft()
            if self._in_flight:  # the next one counts as started now (timeouts: see queueing)
                following = self._in_flight[0].chunk.id
                self._position = WorkerPosition(following, Phase.RUNNING, 0, time.monotonic_ns())
            self._report(sent.chunk, sent.answer)
        if self._stopping and not self._in_flight:
            self._exit(0)

    def _report(self, chunk: ChunkView, answer: object) -> None:
        listener = self._listener
        if isinstance(answer, DaskDone):
            self.name = f"dask-{self.index} on {answer.worker}"
            outcome = DaskOutcome(answer, len(chunk.items), self._backend.flavour)
            listener.chunk_finished(self, ChunkFinished(chunk.id, outcome, answer.seconds))
        elif isinstance(answer, DaskUnreadable):
            self._unreadable(chunk, answer)
        elif isinstance(answer, DaskInitFailed):
            listener.worker_init_failed(self, rebuild(answer.error, self._backend.flavour))
            self._exit(None)
        else:
            self._lost(chunk, answer)

    def _unreadable(self, chunk: ChunkView, answer: DaskUnreadable) -> None:
        error = rebuild(answer.error, self._backend.flavour)
        if not answer.function:
            self._listener.chunk_unreadable(self, chunk.id, error)
            return
        payload = chunk.job.payload
        if isinstance(payload, DaskJob) and not payload.by_value:
            self._listener.function_unreadable(self, chunk.id, error)
            return
        size = len(chunk.items)
        failed = DaskDone((None,) * size, dict.fromkeys(range(size), answer.error), 0.0, "")
        outcome = DaskOutcome(failed, size, self._backend.flavour)
        self._listener.chunk_finished(self, ChunkFinished(chunk.id, outcome, 0.0))

    def _lost(self, chunk: ChunkView, error: object) -> None:
        """The Dask task failed as a whole (``KilledWorker``: it killed too many workers).

        Reported as a lost worker, so that the engine's recovery decides: a chunk of several
        items is marked as not started (READING), and the engine runs its items again one per
        chunk without using retries, so that only the item that kills workers fails; a single
        item is marked RUNNING, and the engine retries it up to ``retries`` times.  When it has
        none left, this backend fails it itself, with a ``WorkerLostError`` naming Dask's error.
        """
        size = len(chunk.items)
        if size == 1 and chunk.attempts >= chunk.job.options.retries:
            task = chunk.job.describe_item(chunk.start)
            tried = f"; tried {chunk.attempts + 1} times" if chunk.attempts else ""
            words = f"Dask gave up on it: {type(error).__name__}: {error}{tried}"
            lost = WorkerLostError(task, None, None, words)
            failed = _FailedOutcome(lost)
            self._listener.chunk_finished(self, ChunkFinished(chunk.id, failed, 0.0))
            return
        phase = Phase.READING if size > 1 else Phase.RUNNING
        self._position = WorkerPosition(chunk.id, phase, 0, 0)
        self._exit(None)

    def stop(self) -> None:
        if not self._in_flight:
            self._exit(0)
        else:
            self._stopping = True

    def kill(self) -> None:
        # A Dask task cannot be stopped: cancel its future (a task not started yet then never
        # starts) and abandon the slot at once; a new slot takes its place.
        self._exit(None)

    terminate = kill

    def release(self) -> None:
        self._in_flight.clear()
        self._backend.forget(self)

    def _exit(self, exitcode: int | None) -> None:
        if self._gone:
            return
        self._gone = True
        # What is still in flight is the engine's again (it runs the chunks sent ahead once
        # more): cancel their Dask tasks, so that none also runs here.
        unanswered = [sent.future for sent in self._in_flight if not sent.answered]
        if unanswered:
            client = self._backend.client
            client.loop.add_callback(_cancel_soon, client, unanswered)
        self._loop.call_soon(self._listener.worker_exited, self, exitcode)


def _cancel_soon(client: distributed.Client, futures: list[distributed.Future]) -> Any:
    """On the client's event loop: cancel without waiting (the loop thread never waits)."""
    return client.cancel(futures, asynchronous=True)


class _FailedOutcome(Outcome):
    def __init__(self, error: BaseException) -> None:
        self._error = error

    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        return [None], {0: self._error}
