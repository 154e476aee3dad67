"""The dispatcher: owns the workers and the pending chunks; runs only on the loop thread.

    submit ─▶ pending heap (priority, then FIFO) ─▶ idle worker ─▶ run(chunk)
                 ▲   delay timers                        │
                 │                                       ▼
                 └── requeue (lost worker) ◀── worker_exited / chunk_finished ─▶ results thread

Every worker holds at most one chunk, recorded in its ``Slot``; with the progress board this tells
exactly which item a dead or timed-out worker held (see ``recovery``).
"""

from __future__ import annotations

import heapq
import itertools
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from corepool._backends.base import Backend, ChunkFinished, Outcome, WorkerHandle
from corepool._engine.event_loop import TimerHandle
from corepool._engine.limits import WorkerLimits
from corepool._engine.loop_thread import LoopThread
from corepool._engine.recovery import Loss, LossKind, plan_recovery
from corepool._engine.results_thread import ResultsThread
from corepool._engine.tasks import Chunk
from corepool._lifecycle.oom import OomWatch
from corepool._worker import progress
from corepool.errors import InitializerError, TaskCancelledError, WorkerStartError
from corepool.insights.statistics import PoolStatistics, WorkerStatistics
from corepool.settings import Settings

StopReason = Literal["recycle", "close", "terminate", "init-failed", "timeout", "cancel"]


@dataclass(eq=False)
class Slot:
    """The dispatcher's record of one worker position."""

    index: int
    worker: WorkerHandle | None = None
    ready: bool = False
    chunk: Chunk | None = None
    tasks_done: int = 0
    stop_reason: StopReason | None = None
    timer: TimerHandle | None = None
    """Timeout check for the running chunk, or the shutdown escalation while stopping."""
    assigned_ns: int = 0
    """``time.monotonic_ns()`` when the chunk was handed over (timeouts before it is read)."""

    @property
    def idle(self) -> bool:
        return self.worker is not None and self.chunk is None and self.stop_reason is None


class Dispatcher:
    def __init__(
        self,
        loop_thread: LoopThread,
        backend: Backend,
        size: int,
        settings: Settings,
        results: ResultsThread,
        on_finished: Callable[[], None],
        limits: WorkerLimits | None = None,
    ) -> None:
        self._loop_thread = loop_thread
        self._loop = loop_thread.loop
        self._backend = backend
        self._settings = settings
        self._results = results
        self._on_finished = on_finished
        self._limits = limits or WorkerLimits()
        self._slots = [Slot(index) for index in range(size)]
        self._pending: list[tuple[int, int, Chunk]] = []
        self._order = itertools.count()
        self._front = itertools.count(-1, -1)
        self._delayed: dict[int, tuple[TimerHandle, Chunk]] = {}
        self._feeders = 0
        self._closing = False
        self._terminating = False
        self._finished = False
        self._broken: BaseException | None = None
        """Why the pool cannot run tasks any more (an initializer failed, workers cannot start)."""
        self._start_failures: float = 0.0
        self._oom_watch = (
            OomWatch.for_this_process() if backend.capabilities.isolates_workers else None
        )
        self._tasks_done = 0
        self._chunks_done = 0
        self._replaced = 0

    # -- commands (posted by the engine from user threads)

    def start(self) -> None:
        for slot in self._slots:
            self._start_worker(slot)

    def submit(self, chunks: list[Chunk]) -> None:
        now = time.monotonic()
        for chunk in chunks:
            wait = chunk.job.not_before - now
            if wait > 0:
                handle = self._loop.call_later(wait, self._release_delayed, chunk.id)
                self._delayed[chunk.id] = (handle, chunk)
            else:
                self._enqueue(chunk)
        self._dispatch()

    def feeder_started(self) -> None:
        self._feeders += 1

    def feeder_finished(self) -> None:
        self._feeders -= 1
        self._maybe_finish()

    def close(self) -> None:
        self._closing = True
        self._maybe_finish()

    def terminate(self, error: BaseException | None = None) -> None:
        """End everything now; unfinished tasks fail with ``error`` (TaskCancelledError)."""
        self._closing = self._terminating = True
        error = error or TaskCancelledError("the pool was terminated before this task finished")
        for _, _, chunk in self._pending:
            self._fail(chunk, error)
        self._pending.clear()
        for handle, chunk in self._delayed.values():
            handle.cancel()
            self._fail(chunk, error)
        self._delayed.clear()
        for slot in self._slots:
            if slot.chunk is not None:
                self._fail(slot.chunk, error)
                self._clear_chunk(slot)
            if slot.worker is not None:
                self._stop_worker(slot, "terminate")
        self._maybe_finish()

    def cancel_job_tasks(self, job_id: int, stop_running: bool = False) -> None:
        """Drop a cancelled job's pending and delayed chunks; with ``stop_running``, also end the
        workers running its chunks (those fail with TaskCancelledError; the workers are replaced).
        """
        error = TaskCancelledError("the call was cancelled")
        kept = []
        for entry in self._pending:
            if entry[2].job.id == job_id:
                self._fail(entry[2], error)
            else:
                kept.append(entry)
        heapq.heapify(kept)
        self._pending = kept
        for chunk_id, (handle, chunk) in list(self._delayed.items()):
            if chunk.job.id == job_id:
                handle.cancel()
                del self._delayed[chunk_id]
                self._fail(chunk, error)
        if stop_running:
            for slot in self._slots:
                running = slot.chunk is not None and slot.chunk.job.id == job_id
                if running and slot.worker is not None and slot.stop_reason is None:
                    self._stop_worker(slot, "cancel")
        self._maybe_finish()

    # -- scheduling

    def _enqueue(self, chunk: Chunk, *, front: bool = False) -> None:
        if self._broken is not None:
            self._fail(chunk, self._broken)
            return
        order = next(self._front) if front else next(self._order)
        heapq.heappush(self._pending, (-chunk.job.options.priority, order, chunk))

    def _release_delayed(self, chunk_id: int) -> None:
        entry = self._delayed.pop(chunk_id, None)
        if entry is not None:
            self._enqueue(entry[1])
            self._dispatch()

    def _dispatch(self) -> None:
        if not self._pending:
            return
        idle = self._idle_in_order()
        while self._pending and idle:
            _, _, chunk = heapq.heappop(self._pending)
            if chunk.job.cancelled.is_set():
                self._fail(chunk, TaskCancelledError("the call was cancelled"))
                continue
            if not chunk.job.sink.claim():
                continue
            self._assign(idle.pop(), chunk)

    def _idle_in_order(self) -> list[Slot]:
        """Idle workers, the next to take a chunk last (``pop()``).

        Nothing until some worker said Ready: a chunk handed to one still starting waits for it,
        while another may be ready first (under spawn, tens of ms of a pool's first task).  Then
        ready workers first, and the chunks left over to those still starting, earliest started
        first, so that a large map spreads over every worker instead of waiting for the ready ones.
        """
        if not any(slot.ready for slot in self._slots):
            return []
        idle = [slot for slot in self._slots if slot.idle]
        idle.sort(key=lambda slot: (slot.ready, -slot.index))
        return idle

    def _assign(self, slot: Slot, chunk: Chunk) -> None:
        assert slot.worker is not None
        slot.chunk = chunk
        slot.assigned_ns = time.monotonic_ns()
        timeout = chunk.job.options.timeout
        if timeout is not None:
            slot.timer = self._loop.call_later(timeout, self._check_timeout, slot, chunk)
        slot.worker.run(chunk)

    def _clear_chunk(self, slot: Slot) -> None:
        slot.chunk = None
        if slot.timer is not None and slot.stop_reason is None:
            slot.timer.cancel()
            slot.timer = None

    # -- worker events (WorkerListener)

    def worker_ready(self, worker: WorkerHandle) -> None:
        slot = self._slot_of(worker)
        if slot is not None:
            slot.ready = True
            self._start_failures = 0.0
            self._dispatch()

    def worker_init_failed(self, worker: WorkerHandle, error: BaseException) -> None:
        problem = InitializerError(
            f"the worker initializer raised {type(error).__name__}: {error}; "
            "the pool cannot run tasks"
        )
        problem.__cause__ = error
        self._break(problem)
        slot = self._slot_of(worker)
        if slot is None:
            return
        if slot.chunk is not None:
            self._fail(slot.chunk, self._broken or problem)
            self._clear_chunk(slot)
        slot.stop_reason = "init-failed"  # the worker exits by itself

    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None:
        slot = self._slot_of(worker)
        if slot is None or slot.chunk is None or slot.chunk.id != event.chunk_id:
            return
        chunk = slot.chunk
        self._clear_chunk(slot)
        chunk.job.sizer.record(len(chunk), event.seconds)
        slot.tasks_done += len(chunk)
        self._tasks_done += len(chunk)
        self._chunks_done += 1
        self._results.post(_deliver_outcome, chunk, event.outcome)
        if self._limits.exceeded(slot.tasks_done, event.rss) is not None:
            self._stop_worker(slot, "recycle")
        self._dispatch()
        self._maybe_finish()

    def chunk_unreadable(self, worker: WorkerHandle, chunk_id: int, error: BaseException) -> None:
        slot = self._slot_of(worker)
        if slot is None or slot.chunk is None or slot.chunk.id != chunk_id:
            return
        chunk = slot.chunk
        self._clear_chunk(slot)
        self._backend.repack_isolated(chunk)
        self._enqueue(chunk, front=True)
        self._dispatch()

    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None:
        slot = self._slot_of(worker)
        worker.release()
        if slot is None:
            return
        chunk, reason, ready = slot.chunk, slot.stop_reason, slot.ready
        if slot.timer is not None:
            slot.timer.cancel()
        slot.chunk = slot.timer = None
        slot.worker, slot.ready, slot.stop_reason = None, False, None
        if chunk is not None:
            self._recover(chunk, worker, self._loss(reason, worker, exitcode))
        if reason is None and not ready:
            self._count_start_failure(exitcode)
        if reason is None or reason in ("recycle", "timeout", "cancel"):
            self._replaced += 1
            if self._needs_workers():
                self._start_worker(slot)
        self._dispatch()
        self._maybe_finish()

    def _count_start_failure(self, exitcode: int | None) -> None:
        # A worker SIGKILLed while starting was most likely killed from outside (or by the OOM
        # killer), not broken by its own start-up: those count a quarter as much.
        self._start_failures += 1 if exitcode != -signal.SIGKILL else 0.25
        if self._start_failures >= self._settings.max_start_failures:
            self._break(
                WorkerStartError(
                    "worker processes keep exiting while they start "
                    f"(the last with exit code {exitcode}); their error output above says why"
                )
            )

    def _break(self, problem: BaseException) -> None:
        """The pool cannot run tasks any more: fail what waits, start no more workers."""
        if self._broken is not None:
            return
        self._broken = problem
        for _, _, chunk in self._pending:
            self._fail(chunk, problem)
        self._pending.clear()

    def _slot_of(self, worker: WorkerHandle) -> Slot | None:
        slot = self._slots[worker.index]
        return slot if slot.worker is worker else None

    # -- lost workers and timeouts

    def _loss(self, reason: StopReason | None, worker: WorkerHandle, exitcode: int | None) -> Loss:
        kind: LossKind = (
            "timeout" if reason == "timeout" else "cancel" if reason == "cancel" else "died"
        )
        detail = ""
        killed = exitcode == -signal.SIGKILL
        if killed and self._oom_watch is not None and self._oom_watch.killed_since_last():
            detail = "the kernel's out-of-memory killer ended processes in this cgroup meanwhile"
        return Loss(kind, worker.pid, exitcode, detail, may_retry=not self._terminating)

    def _recover(self, chunk: Chunk, worker: WorkerHandle, loss: Loss) -> None:
        plan = plan_recovery(chunk, worker.row, loss)
        for part in plan.requeue:
            if part.packed is None:
                self._backend.prepare_chunk(part)
            self._enqueue(part, front=True)
        for part, error in plan.failed:
            self._fail(part, error)

    def _check_timeout(self, slot: Slot, chunk: Chunk) -> None:
        """Stop the worker if its current item (or reading / packing phase) ran too long."""
        slot.timer = None
        if slot.chunk is not chunk or slot.worker is None:
            return
        timeout = chunk.job.options.timeout
        assert timeout is not None
        row = slot.worker.row
        if not slot.ready:  # still starting (maybe in its initializer): the clock has not begun
            started = time.monotonic_ns()
        elif row[progress.CHUNK] != chunk.id:
            started = slot.assigned_ns
        else:
            started = row[progress.STARTED]
        left = timeout - (time.monotonic_ns() - started) / 1e9
        if left > 0:
            slot.timer = self._loop.call_later(left, self._check_timeout, slot, chunk)
            return
        self._stop_worker(slot, "timeout")

    # -- worker lifecycle

    def _start_worker(self, slot: Slot) -> None:
        slot.worker = self._backend.start_worker(slot.index, self._loop, self)
        slot.tasks_done = 0

    def _stop_worker(self, slot: Slot, reason: StopReason) -> None:
        """Ask the worker to go; escalate to SIGTERM, then SIGKILL, if it does not."""
        worker = slot.worker
        assert worker is not None
        slot.stop_reason = reason
        if slot.timer is not None:
            slot.timer.cancel()
        if reason in ("terminate", "timeout", "cancel"):
            if reason == "terminate":
                worker.terminate()
            else:
                worker.kill()
            grace = self._settings.shutdown_grace_seconds
            slot.timer = self._loop.call_later(grace, self._escalate, slot, worker, "kill")
            return
        worker.stop()
        grace = self._settings.shutdown_grace_seconds
        slot.timer = self._loop.call_later(grace, self._escalate, slot, worker, "terminate")

    def _escalate(self, slot: Slot, worker: WorkerHandle, step: str) -> None:
        if slot.worker is not worker:
            return
        if step == "terminate":
            worker.terminate()
            grace = self._settings.shutdown_grace_seconds
            slot.timer = self._loop.call_later(grace, self._escalate, slot, worker, "kill")
        else:
            worker.kill()
            slot.timer = None

    def _needs_workers(self) -> bool:
        if self._terminating or self._broken is not None:
            return False
        return not self._closing or self._has_work()

    def _has_work(self) -> bool:
        return bool(
            self._pending
            or self._delayed
            or self._feeders
            or any(slot.chunk is not None for slot in self._slots)
        )

    def _maybe_finish(self) -> None:
        if not self._closing or self._finished or (self._has_work() and not self._terminating):
            return
        for slot in self._slots:
            if slot.worker is not None and slot.stop_reason is None:
                self._stop_worker(slot, "close")
        if all(slot.worker is None for slot in self._slots):
            self._finished = True
            self._backend.close()
            self._on_finished()

    # -- outcomes

    def _fail(self, chunk: Chunk, error: BaseException) -> None:
        errors = dict.fromkeys(range(len(chunk)), error)
        self._results.post(chunk.job.sink.deliver, chunk.start, [None] * len(chunk), errors)

    # -- insight

    def statistics(self) -> PoolStatistics:
        workers = tuple(self._worker_statistics(slot) for slot in self._slots)
        queued = sum(len(entry[2]) for entry in self._pending)
        queued += sum(len(chunk) for _, chunk in self._delayed.values())
        in_flight = sum(len(slot.chunk) for slot in self._slots if slot.chunk is not None)
        return PoolStatistics(
            backend=self._backend.capabilities.name,
            workers=workers,
            tasks_queued=queued,
            tasks_in_flight=in_flight,
            tasks_done=self._tasks_done,
            chunks_done=self._chunks_done,
            workers_replaced=self._replaced,
        )

    def _worker_statistics(self, slot: Slot) -> WorkerStatistics:
        worker = slot.worker
        if worker is None or slot.stop_reason is not None:
            state: Literal["starting", "idle", "busy", "stopping"] = "stopping"
        elif not slot.ready:
            state = "starting"
        elif slot.chunk is not None:
            state = "busy"
        else:
            state = "idle"
        name = worker.name if worker is not None else f"corepool-worker-{slot.index}"
        pid = worker.pid if worker is not None else None
        return WorkerStatistics(slot.index, name, pid, state, slot.tasks_done)


def _deliver_outcome(chunk: Chunk, outcome: Outcome) -> None:
    """On the results thread: unpickle a chunk's outcome and hand it to its job's sink."""
    try:
        values, errors = outcome.unpack()
    except Exception as error:  # noqa: BLE001 - a broken outcome fails its items, not the pool
        values, errors = [None] * len(chunk), dict.fromkeys(range(len(chunk)), error)
    errors.update(chunk.parent_errors)
    chunk.job.sink.deliver(chunk.start, values, errors)
