"""The dispatcher: owns the workers and the pending chunks; runs only on the loop thread.

    submit ─▶ PendingChunks (priority, then FIFO; delays) ─▶ idle worker ─▶ run(chunk)
                 ▲                                                          │
                 └── requeue (lost worker) ◀── worker_exited / chunk_finished ─▶ results thread

Every worker runs one chunk, recorded in its ``Slot``, and may have short chunks queued behind it
(``queueing``; a worker thread's may be taken back for an idle one); with ``position()`` this
tells exactly which item a dead or timed-out worker held (``losses``, which loads ``timeouts``
and ``recovery`` on first need).  ``workers`` starts and stops them, and guards against a
backend that breaks its contract (``_backends/base.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from corepool import errors
from corepool._backends.base import Backend, ChunkFinished, WorkerHandle
from corepool._engine import queueing
from corepool._engine.limits import WorkerLimits
from corepool._engine.loop_thread import LoopThread
from corepool._engine.losses import Losses, termination_error
from corepool._engine.pending import PendingChunks
from corepool._engine.preparation import Preparer
from corepool._engine.recorder import InsightRecorder
from corepool._engine.results_thread import ResultsThread
from corepool._engine.slots import Slot, StopReason
from corepool._engine.tasks import Chunk
from corepool._engine.workers import Workers
from corepool.settings import Settings

if TYPE_CHECKING:
    # ``rework`` is imported when a chunk first needs preparing again (see ``losses``).
    from corepool._engine.rework import Outcomes, Rework
    from corepool.insights.report import PoolInsights
    from corepool.insights.statistics import PoolStatistics


class Dispatcher:
    def __init__(
        self,
        loop_thread: LoopThread,
        backend: Backend,
        size: int,
        settings: Settings,
        results: ResultsThread,
        preparer: Preparer,
        on_finished: Callable[[], None],
        limits: WorkerLimits | None = None,
    ) -> None:
        self._loop = loop_thread.loop
        self._backend = backend
        self._settings = settings
        self._results = results
        self._preparer = preparer
        self._on_finished = on_finished
        self._limits = limits or WorkerLimits()
        # A worker to be retired after so many tasks or so much memory must not run queued ones.
        no_limits = self._limits.max_tasks is None and self._limits.max_memory is None
        self._queue_seconds = settings.worker_queue_seconds if no_limits else 0.0
        self._workers = Workers(backend, self._loop, settings, size, self, self._worker_gone)
        self._slots = self._workers.slots
        self._pending = PendingChunks(self._loop, self._released)
        self._losses = Losses(
            self._loop, backend.capabilities, settings.max_unstarted_losses, self._workers.stop
        )
        self._loop_thread = loop_thread
        self._rework: Rework | None = None
        self._feeders = 0
        self._closing = self._terminating = self._finished = False
        self._broken: BaseException | None = None
        """Why the pool cannot run tasks any more (an initializer failed, workers cannot start)."""
        self._tasks_done = self._chunks_done = 0
        self._recorder = InsightRecorder(size)

    @property
    def broken(self) -> BaseException | None:
        """Why the pool cannot run tasks any more (read from any thread), or None."""
        return self._broken

    # -- commands (posted by the engine from user threads)

    def start(self) -> None:
        for slot in self._slots:
            self._workers.start(slot)
        # Next round, before the workers' first words: the pool's constructor waits for this call.
        self._loop.call_soon(self._losses.start)

    def submit(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            if self._broken is not None:
                self._fail(chunk, self._broken)
            elif chunk.job.cancelled:  # a feeder cut it while the call was cancelled
                self._fail(chunk, errors.TaskCancelledError("the call was cancelled"))
            else:
                self._pending.add(chunk)
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
        """End everything now; unfinished tasks fail with ``error`` or ``termination_error()``."""
        self._closing = self._terminating = True
        unfinished = self._pending.take_all()
        if self._rework is not None:
            unfinished += self._rework.take_all()
        for slot in self._slots:
            running = [] if (chunk := self._clear_chunk(slot)) is None else [chunk]
            unfinished += [*running, *queueing.take_queued(slot)]
        if unfinished:
            error = error or termination_error()
            for chunk in unfinished:
                self._fail(chunk, error)
        for slot in self._slots:
            if slot.worker is not None and slot.stop_reason is not StopReason.TERMINATE:
                self._workers.stop(slot, StopReason.TERMINATE)
        self._maybe_finish()

    def cancel_job_tasks(self, job_id: int, stop_running: bool = False) -> None:
        """Drop a cancelled job's pending and delayed chunks; with ``stop_running``, also end the
        workers running its chunks (they fail with TaskCancelledError; the workers are replaced)."""
        error = errors.TaskCancelledError("the call was cancelled")
        dropped = self._pending.remove_job(job_id) + queueing.withdraw_job(self._slots, job_id)
        for chunk in dropped:  # (queued behind a worker thread, not started: taken back)
            self._fail(chunk, error)
        if stop_running:
            for slot in self._slots:
                running = slot.chunk is not None and slot.chunk.job.id == job_id
                if running and slot.worker is not None and slot.stop_reason is None:
                    self._workers.stop(slot, StopReason.CANCEL)
        self._maybe_finish()

    # -- scheduling

    def _released(self) -> None:
        """A delayed chunk may run now."""
        self._dispatch()
        self._maybe_finish()

    def _dispatch(self) -> None:
        taking = self._workers.any_withdraws and self._workers.any_idle
        if not (self._pending.ready or taking):
            return
        idle = self._workers.idle_in_order()
        while self._pending.ready and idle:
            chunk = self._pending.pop()
            if chunk.job.cancelled:
                self._fail(chunk, errors.TaskCancelledError("the call was cancelled"))
            elif chunk.job.sink.claim():  # False: its future was cancelled; nothing to run
                self._assign(idle.pop(), chunk)
        # Nothing pending: idle workers take over chunks queued behind busy ones, if they can.
        while taking and idle and (taken := queueing.withdraw_for_idle(self._slots)) is not None:
            self._assign(idle.pop(), taken)
        if self._pending.ready and self._queue_seconds > 0 and not self._workers.any_starting:
            self._queue_ahead()

    def _queue_ahead(self) -> None:
        """Queue short pending chunks behind busy workers (see ``queueing``)."""
        limit, most = self._queue_seconds, self._settings.max_queued_chunks
        one_deep = queueing.OneDeep(self._slots, self._workers.any_withdraws)
        while self._pending.ready:
            chunk = self._pending.peek()
            ready = self._pending.ready_count
            place = queueing.place(chunk, self._slots, limit, most, ready, one_deep)
            if place is None:
                return
            slot, seconds = place
            assert slot.worker is not None
            self._pending.pop()
            if chunk.job.cancelled:
                self._fail(chunk, errors.TaskCancelledError("the call was cancelled"))
            elif chunk.job.sink.claim():
                queueing.enqueue(slot, chunk, seconds)
                slot.worker.run(chunk)

    def _assign(self, slot: Slot, chunk: Chunk) -> None:
        assert slot.worker is not None
        self._workers.set_chunk(slot, chunk)
        slot.running_seconds = queueing.queueable_seconds(chunk, self._queue_seconds)
        slot.assigned_ns = time.monotonic_ns()
        self._recorder.assigned(slot.index)
        self._losses.watch(slot, chunk)
        slot.worker.run(chunk)

    def _clear_chunk(self, slot: Slot) -> Chunk | None:
        chunk, slot.running_seconds = slot.chunk, None
        self._workers.set_chunk(slot, None)
        if chunk is not None and slot.stop_reason is None:
            slot.cancel_timer()  # the chunk's timeout check (while stopping: the next step)
        return chunk

    def _start_queued(self, slot: Slot) -> None:
        """The worker answered for its chunk and went on to the next one queued, if any (which a
        process cannot give back: stopped if its call was cancelled with its running tasks)."""
        if (chunk := queueing.next_queued(slot)) is not None:
            self._workers.set_chunk(slot, chunk)
            slot.assigned_ns = time.monotonic_ns()
            self._recorder.assigned(slot.index)
            if chunk.job.stop_running and chunk.job.cancelled and slot.stop_reason is None:
                self._workers.stop(slot, StopReason.CANCEL)

    def _run_again(self, chunks: list[Chunk]) -> None:
        """Queue chunks to run again; parts cut from a chunk are prepared again first."""
        unprepared = [chunk for chunk in chunks if chunk.payload is None]
        for chunk in chunks:
            if chunk.payload is not None:
                self._requeue(chunk)
        if unprepared:
            self._reworker().send(unprepared, self._preparer.chunk)

    def _requeue(self, chunk: Chunk) -> None:
        if self._broken is not None:
            self._fail(chunk, self._broken)
        elif self._terminating:
            self._fail(chunk, errors.TaskCancelledError("the pool was terminated"))
        else:
            self._pending.requeue(chunk)

    def _reworker(self) -> Rework:
        if self._rework is None:
            from corepool._engine.rework import Rework

            self._rework = Rework(self._preparer, self._loop_thread, self._reworked)
        return self._rework

    def _reworked(self, outcomes: Outcomes) -> None:
        for chunk, failure in outcomes:
            if failure is not None:
                self._fail(chunk, failure)
            else:
                self._requeue(chunk)
        self._dispatch()
        self._maybe_finish()

    # -- worker events (WorkerListener)

    def worker_ready(self, worker: WorkerHandle) -> None:
        slot = self._workers.slot_of(worker)
        if slot is not None and not slot.ready:
            self._workers.mark_ready(slot)
            self._recorder.ready(slot.index)
            self._dispatch()
            # The chunks _dispatch dropped (their call or future cancelled) may have been the
            # last work of a closing pool: without this, shutdown() waited forever.
            self._maybe_finish()

    def worker_init_failed(self, worker: WorkerHandle, error: BaseException) -> None:
        problem = errors.InitializerError(
            f"the worker initializer raised {type(error).__name__}: {error}; "
            "the pool cannot run tasks"
        )
        problem.__cause__ = error
        self._break(problem)
        slot = self._workers.slot_of(worker)
        if slot is None:
            return
        chunk = self._clear_chunk(slot)
        if chunk is not None:
            self._fail(chunk, self._broken or problem)
        if slot.stop_reason is None:
            self._workers.stop(slot, StopReason.INIT_FAILED)

    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None:
        slot = self._workers.slot_of(worker)
        if slot is None or slot.chunk is None or slot.chunk.id != event.chunk_id:
            return
        chunk = self._clear_chunk(slot)
        assert chunk is not None
        chunk.job.sizer.record(len(chunk), event.seconds, event.cpu_seconds, event.queued_seconds)
        self._recorder.finished(slot.index, chunk, event)
        self._start_queued(slot)
        slot.tasks_done += len(chunk)
        self._tasks_done += len(chunk)
        self._chunks_done += 1
        if slot.stop_reason is None and self._limits.exceeded(slot.tasks_done, event.rss):
            self._workers.stop(slot, StopReason.RECYCLE)
        self._dispatch()  # the worker's next chunk before the outcome, which may wake a caller
        self._results.deliver(chunk, event.outcome)  # maybe at once: results_thread.deliver
        self._maybe_finish()

    def chunk_unreadable(self, worker: WorkerHandle, chunk_id: int, error: BaseException) -> None:
        """The worker could not read the chunk's items as a whole: send them one by one."""
        chunk = self._take_answered_chunk(worker, chunk_id)
        if chunk is not None:
            self._reworker().send([chunk], self._preparer.isolated)

    def function_unreadable(
        self, worker: WorkerHandle, chunk_id: int, error: BaseException
    ) -> None:
        """The worker could not resolve the function by reference: send it by value."""
        chunk = self._take_answered_chunk(worker, chunk_id)
        if chunk is not None:
            self._reworker().send([chunk], self._preparer.function_by_value, error)

    def _take_answered_chunk(self, worker: WorkerHandle, chunk_id: int) -> Chunk | None:
        slot = self._workers.slot_of(worker)
        if slot is None or slot.chunk is None or slot.chunk.id != chunk_id:
            return None
        chunk = self._clear_chunk(slot)
        self._start_queued(slot)
        self._dispatch()
        return chunk

    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None:
        self._workers.exited(worker, exitcode)

    def replace_workers(self) -> None:
        """Each worker finishes its chunk and goes; the backend's new kind takes its slot."""
        for slot in self._slots:
            if slot.worker is not None and slot.stop_reason is None:
                self._workers.stop(slot, StopReason.REPLACE)

    def _worker_gone(
        self, slot: Slot, worker: WorkerHandle, exitcode: int | None, detail: str
    ) -> None:
        chunk, reason, ready = slot.chunk, slot.stop_reason, slot.ready
        # Never started, so never to blame: queued chunks run again first, in their order.
        for queued in reversed(queueing.take_queued(slot)):
            self._requeue(queued)
        self._workers.vacate(slot)
        self._recorder.gone(slot.index)
        if chunk is not None:  # which of its parts fail, which run again (``losses``)
            plan = self._losses.lost(chunk, reason, worker, exitcode, detail, not self._terminating)
            for part, error in plan.failed:
                self._fail(part, error)
            self._run_again(plan.requeue)
        if not ready and reason in (None, StopReason.START_TIMEOUT):
            problem = self._workers.start_failed(exitcode, killed_by_us=reason is not None)
            if problem is not None:
                self._break(problem)
        if reason is None or reason.replaced:
            self._workers.replaced += reason is not StopReason.REPLACE
            if self._needs_workers():
                self._workers.start(slot)
        self._dispatch()
        self._maybe_finish()

    def _break(self, problem: BaseException) -> None:
        """The pool cannot run tasks any more: fail what waits, start no more workers."""
        if self._broken is not None:
            return
        self._broken = problem
        for chunk in self._pending.take_ready():
            self._fail(chunk, problem)

    # -- finishing

    def _needs_workers(self) -> bool:
        if self._terminating or self._broken is not None:
            return False
        return not self._closing or self._has_work()

    def _has_work(self) -> bool:
        return bool(self._pending or self._rework or self._feeders or self._workers.any_holding)

    def _maybe_finish(self) -> None:
        if not self._closing or self._finished or (self._has_work() and not self._terminating):
            return
        for slot in self._slots:
            if slot.worker is not None and slot.stop_reason is None:
                self._workers.stop(slot, StopReason.CLOSE)
        if self._workers.all_gone:
            self._finished = True
            self._preparer.stop()
            self._backend.close()
            self._on_finished()

    def _fail(self, chunk: Chunk, error: BaseException) -> None:
        self._results.post(chunk.fail, error)

    # -- insight

    def statistics(self) -> PoolStatistics:
        from corepool.insights.statistics import PoolStatistics  # only when asked for

        return PoolStatistics(
            backend=self._backend.capabilities.name,
            workers=self._workers.statistics(),
            tasks_queued=sum(len(chunk) for chunk in self._pending),
            tasks_in_flight=sum(slot.tasks_held for slot in self._slots),
            tasks_done=self._tasks_done,
            chunks_done=self._chunks_done,
            workers_replaced=self._workers.replaced,
            backend_choice=self._backend.choice,
        )

    def insights(self) -> PoolInsights:
        return self._recorder.snapshot(self._backend.capabilities.name)
