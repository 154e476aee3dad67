"""The dispatcher: owns the workers and the pending chunks; runs only on the loop thread.

    submit ─▶ PendingChunks (priority, then FIFO; delays) ─▶ idle worker ─▶ run(chunk)
                 ▲                                                          │
                 └── requeue (lost worker) ◀── worker_exited / chunk_finished ─▶ results thread

Every worker holds at most one chunk, recorded in its ``Slot``; with the worker's ``position()``
this tells exactly which item a dead or timed-out worker held (see ``recovery``).  The backend
contract (``_backends/base.py``) says what workers report; this class also guards against a
backend that breaks it (a second exit report, a kill that never ends in an exit).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from corepool._backends.base import Backend, ChunkFinished, Outcome, WorkerHandle
from corepool._engine.limits import WorkerLimits
from corepool._engine.loop_thread import LoopThread
from corepool._engine.pending import PendingChunks
from corepool._engine.preparation import Preparer
from corepool._engine.recovery import Loss, LossKind, plan_recovery
from corepool._engine.results_thread import ResultsThread
from corepool._engine.slots import Slot, Step, StopReason
from corepool._engine.tasks import Chunk
from corepool._lifecycle.oom import OomWatch
from corepool._wire.rebuild import local_error
from corepool._wire.remote_error import Stage
from corepool.errors import InitializerError, TaskCancelledError, WorkerStartError
from corepool.insights.statistics import PoolStatistics, WorkerStatistics
from corepool.settings import Settings

_LOSS_KINDS = {StopReason.TIMEOUT: LossKind.TIMEOUT, StopReason.CANCEL: LossKind.CANCEL}


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
        self._loop_thread = loop_thread
        self._backend = backend
        self._settings = settings
        self._results = results
        self._preparer = preparer
        self._on_finished = on_finished
        self._limits = limits or WorkerLimits()
        self._slots = [Slot(index) for index in range(size)]
        self._pending = PendingChunks(self._loop, self._released)
        self._preparing: dict[int, Chunk] = {}
        """Chunks away on the preparer thread, to be queued again when they come back."""
        self._given_up: set[WorkerHandle] = set()
        """Workers declared gone without an exit report (see ``Step.GIVE_UP``)."""
        self._feeders = 0
        self._closing = self._terminating = self._finished = False
        self._broken: BaseException | None = None
        """Why the pool cannot run tasks any more (an initializer failed, workers cannot start)."""
        self._start_failures = 0.0
        self._oom_watch = (
            OomWatch.for_this_process() if backend.capabilities.isolates_workers else None
        )
        self._tasks_done = self._chunks_done = self._replaced = 0

    # -- commands (posted by the engine from user threads)

    def start(self) -> None:
        for slot in self._slots:
            self._start_worker(slot)

    def submit(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            if self._broken is not None:
                self._fail(chunk, self._broken)
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
        """End everything now; unfinished tasks fail with ``error`` (TaskCancelledError)."""
        self._closing = self._terminating = True
        error = error or TaskCancelledError("the pool was terminated before this task finished")
        for chunk in [*self._pending.take_all(), *self._preparing.values()]:
            self._fail(chunk, error)
        self._preparing.clear()
        for slot in self._slots:
            if slot.chunk is not None:
                self._fail(slot.chunk, error)
                self._clear_chunk(slot)
            if slot.worker is not None and slot.stop_reason is not StopReason.TERMINATE:
                self._stop_worker(slot, StopReason.TERMINATE)
        self._maybe_finish()

    def cancel_job_tasks(self, job_id: int, stop_running: bool = False) -> None:
        """Drop a cancelled job's pending and delayed chunks; with ``stop_running``, also end the
        workers running its chunks (those fail with TaskCancelledError; the workers are replaced).
        """
        error = TaskCancelledError("the call was cancelled")
        for chunk in self._pending.remove_job(job_id):
            self._fail(chunk, error)
        if stop_running:
            for slot in self._slots:
                running = slot.chunk is not None and slot.chunk.job.id == job_id
                if running and slot.worker is not None and slot.stop_reason is None:
                    self._stop_worker(slot, StopReason.CANCEL)
        self._maybe_finish()

    # -- scheduling

    def _released(self) -> None:
        """A delayed chunk may run now."""
        self._dispatch()
        self._maybe_finish()

    def _dispatch(self) -> None:
        if not self._pending.ready:
            return
        idle = self._idle_in_order()
        while self._pending.ready and idle:
            chunk = self._pending.pop()
            if chunk.job.cancelled.is_set():
                self._fail(chunk, TaskCancelledError("the call was cancelled"))
            elif chunk.job.sink.claim():  # False: its future was cancelled; nothing to run
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

    def _clear_chunk(self, slot: Slot) -> Chunk | None:
        chunk, slot.chunk = slot.chunk, None
        if slot.stop_reason is None:
            slot.cancel_timer()  # the chunk's timeout check (while stopping: the next step)
        return chunk

    def _requeue_prepared(self, chunks: list[Chunk]) -> None:
        """Queue chunks to run again; those whose items need preparing again go to the preparer
        thread first (a part cut from a chunk has no prepared payload of its own)."""
        unprepared = [chunk for chunk in chunks if chunk.payload is None]
        for chunk in chunks:
            if chunk.payload is not None:
                self._requeue(chunk)
        if unprepared:
            self._prepare_later(unprepared, self._preparer.chunk)

    def _requeue(self, chunk: Chunk) -> None:
        if self._broken is not None:
            self._fail(chunk, self._broken)
        elif self._terminating:
            self._fail(chunk, TaskCancelledError("the pool was terminated"))
        else:
            self._pending.requeue(chunk)

    def _prepare_later(
        self,
        chunks: list[Chunk],
        prepare: Callable[[Chunk], None],
        error_if_impossible: BaseException | None = None,
    ) -> None:
        for chunk in chunks:
            self._preparing[chunk.id] = chunk
        self._preparer.later(self._prepare_off_loop, chunks, prepare, error_if_impossible)

    def _prepare_off_loop(
        self,
        chunks: list[Chunk],
        prepare: Callable[[Chunk], None],
        error_if_impossible: BaseException | None,
    ) -> None:
        """On the preparer thread; the outcome goes back to the loop thread."""
        failures: dict[int, BaseException] = {}
        for chunk in chunks:
            try:
                prepare(chunk)
            except Exception as error:  # noqa: BLE001 - the chunk fails, not the pool
                failures[chunk.id] = error_if_impossible or local_error(error, Stage.PICKLE_CALL)
        try:
            self._loop_thread.call(self._prepared, chunks, failures)
        except RuntimeError:  # the loop closed: terminate() failed these chunks already
            pass

    def _prepared(self, chunks: list[Chunk], failures: dict[int, BaseException]) -> None:
        for chunk in chunks:
            if self._preparing.pop(chunk.id, None) is None:
                continue  # failed by terminate() meanwhile
            failure = failures.get(chunk.id)
            if failure is not None:
                self._fail(chunk, failure)
            else:
                self._requeue(chunk)
        self._dispatch()
        self._maybe_finish()

    # -- worker events (WorkerListener)

    def worker_ready(self, worker: WorkerHandle) -> None:
        slot = self._slot_of(worker)
        if slot is not None and not slot.ready:
            slot.ready = True
            if slot.stop_reason is None:
                slot.cancel_timer()  # the start timeout
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
        chunk = self._clear_chunk(slot)
        if chunk is not None:
            self._fail(chunk, self._broken or problem)
        if slot.stop_reason is None:
            self._stop_worker(slot, StopReason.INIT_FAILED)

    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None:
        slot = self._slot_of(worker)
        if slot is None or slot.chunk is None or slot.chunk.id != event.chunk_id:
            return
        chunk = self._clear_chunk(slot)
        assert chunk is not None
        chunk.job.sizer.record(len(chunk), event.seconds)
        slot.tasks_done += len(chunk)
        self._tasks_done += len(chunk)
        self._chunks_done += 1
        self._results.post(_deliver_outcome, chunk, event.outcome)
        if slot.stop_reason is None and self._limits.exceeded(slot.tasks_done, event.rss):
            self._stop_worker(slot, StopReason.RECYCLE)
        self._dispatch()
        self._maybe_finish()

    def chunk_unreadable(self, worker: WorkerHandle, chunk_id: int, error: BaseException) -> None:
        """The worker could not read the chunk's items as a whole: send them one by one."""
        chunk = self._take_answered_chunk(worker, chunk_id)
        if chunk is not None:
            self._prepare_later([chunk], self._preparer.isolated)

    def function_unreadable(
        self, worker: WorkerHandle, chunk_id: int, error: BaseException
    ) -> None:
        """The worker could not resolve the function by reference: send it by value."""
        chunk = self._take_answered_chunk(worker, chunk_id)
        if chunk is not None:
            self._prepare_later([chunk], self._reprepare_function_by_value, error)

    def _reprepare_function_by_value(self, chunk: Chunk) -> None:
        self._preparer.job(chunk.job, by_value=True)

    def _take_answered_chunk(self, worker: WorkerHandle, chunk_id: int) -> Chunk | None:
        slot = self._slot_of(worker)
        if slot is None or slot.chunk is None or slot.chunk.id != chunk_id:
            return None
        chunk = self._clear_chunk(slot)
        self._dispatch()
        return chunk

    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None:
        slot = self._slot_of(worker)
        if slot is None:  # a second report, or a worker given up on that exited at last
            if worker in self._given_up:
                self._given_up.discard(worker)
                worker.release()
            return
        worker.release()
        self._worker_gone(slot, worker, exitcode)

    def _worker_gone(
        self, slot: Slot, worker: WorkerHandle, exitcode: int | None, detail: str = ""
    ) -> None:
        chunk, reason, ready = slot.chunk, slot.stop_reason, slot.ready
        slot.cancel_timer()
        slot.chunk = slot.worker = slot.stop_reason = None
        slot.ready = False
        if chunk is not None:
            self._recover(chunk, self._loss(reason, worker, exitcode, detail), worker)
        if not ready and reason in (None, StopReason.START_TIMEOUT):
            self._count_start_failure(exitcode, killed_by_us=reason is not None)
        if reason is None or reason.replaced:
            self._replaced += 1
            if self._needs_workers():
                self._start_worker(slot)
        self._dispatch()
        self._maybe_finish()

    def _count_start_failure(self, exitcode: int | None, *, killed_by_us: bool) -> None:
        # A worker SIGKILLed while starting was most likely killed from outside (or by the OOM
        # killer), not broken by its own start-up: those count a quarter as much.
        from_outside = exitcode == -signal.SIGKILL and not killed_by_us
        self._start_failures += 0.25 if from_outside else 1
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
        for chunk in self._pending.take_ready():
            self._fail(chunk, problem)

    def _slot_of(self, worker: WorkerHandle) -> Slot | None:
        slot = self._slots[worker.index]
        return slot if slot.worker is worker else None

    # -- lost workers and timeouts

    def _loss(
        self, reason: StopReason | None, worker: WorkerHandle, exitcode: int | None, detail: str
    ) -> Loss:
        kind = _LOSS_KINDS.get(reason, LossKind.DIED) if reason is not None else LossKind.DIED
        words = [detail] if detail else []
        if kind is not LossKind.DIED and not self._backend.capabilities.kills_workers:
            name = self._backend.capabilities.name
            words.append(f"{name} workers cannot be stopped: the task may still be running")
        killed = exitcode == -signal.SIGKILL
        if killed and self._oom_watch is not None and self._oom_watch.killed_since_last():
            words.append(
                "the kernel's out-of-memory killer ended processes in this cgroup meanwhile"
            )
        return Loss(
            kind,
            worker.pid,
            exitcode,
            "; ".join(words),
            may_retry=not self._terminating,
            max_unstarted_losses=self._settings.max_unstarted_losses,
        )

    def _recover(self, chunk: Chunk, loss: Loss, worker: WorkerHandle) -> None:
        plan = plan_recovery(chunk, worker.position(), loss)
        for part, error in plan.failed:
            self._fail(part, error)
        self._requeue_prepared(plan.requeue)

    def _check_timeout(self, slot: Slot, chunk: Chunk) -> None:
        """Stop the worker if its current item (or reading / packing phase) ran too long."""
        slot.timer = None
        worker = slot.worker
        if slot.chunk is not chunk or worker is None:
            return
        timeout = chunk.job.options.timeout
        assert timeout is not None
        position = worker.position()
        if not slot.ready:  # still starting (maybe in its initializer): the clock has not begun
            started = time.monotonic_ns()
        elif position.chunk_id != chunk.id:
            started = slot.assigned_ns
        else:
            started = position.started_ns
        left = timeout - (time.monotonic_ns() - started) / 1e9
        if left > 0:
            slot.timer = self._loop.call_later(left, self._check_timeout, slot, chunk)
            return
        self._stop_worker(slot, StopReason.TIMEOUT)

    def _start_timed_out(self, slot: Slot, worker: WorkerHandle) -> None:
        slot.timer = None
        if slot.worker is worker and not slot.ready and slot.stop_reason is None:
            self._stop_worker(slot, StopReason.START_TIMEOUT)

    # -- worker lifecycle

    def _start_worker(self, slot: Slot) -> None:
        worker = self._backend.start_worker(slot.index, self._loop, self)
        slot.worker, slot.tasks_done = worker, 0
        start_timeout = self._settings.worker_start_timeout
        if start_timeout is not None:
            slot.timer = self._loop.call_later(start_timeout, self._start_timed_out, slot, worker)

    def _stop_worker(self, slot: Slot, reason: StopReason) -> None:
        """Ask the worker to go, escalating step by step (see ``slots``) if it does not."""
        assert slot.worker is not None
        slot.stop_reason = reason
        slot.cancel_timer()
        self._take_step(slot, slot.worker, reason.first_step)

    def _take_step(self, slot: Slot, worker: WorkerHandle, step: Step) -> None:
        if slot.worker is not worker:
            return  # it exited meanwhile
        slot.timer = None
        if step is Step.GIVE_UP:
            self._given_up.add(worker)
            self._worker_gone(slot, worker, None, "it did not exit after being killed")
            return
        slot.take_step(step)
        if slot.worker is worker:  # a backend may report the exit from within the step
            grace = self._settings.shutdown_grace_seconds
            slot.timer = self._loop.call_later(grace, self._take_step, slot, worker, step.next())

    def _needs_workers(self) -> bool:
        if self._terminating or self._broken is not None:
            return False
        return not self._closing or self._has_work()

    def _has_work(self) -> bool:
        return bool(
            self._pending
            or self._preparing
            or self._feeders
            or any(slot.chunk is not None for slot in self._slots)
        )

    def _maybe_finish(self) -> None:
        if not self._closing or self._finished or (self._has_work() and not self._terminating):
            return
        for slot in self._slots:
            if slot.worker is not None and slot.stop_reason is None:
                self._stop_worker(slot, StopReason.CLOSE)
        if all(slot.worker is None for slot in self._slots):
            self._finished = True
            self._preparer.stop()
            self._backend.close()
            self._on_finished()

    # -- outcomes

    def _fail(self, chunk: Chunk, error: BaseException) -> None:
        errors = dict.fromkeys(range(len(chunk)), error)
        self._results.post(chunk.job.sink.deliver, chunk.start, [None] * len(chunk), errors)

    # -- insight

    def statistics(self) -> PoolStatistics:
        return PoolStatistics(
            backend=self._backend.capabilities.name,
            workers=tuple(_worker_statistics(slot) for slot in self._slots),
            tasks_queued=sum(len(chunk) for chunk in self._pending),
            tasks_in_flight=sum(len(slot.chunk) for slot in self._slots if slot.chunk is not None),
            tasks_done=self._tasks_done,
            chunks_done=self._chunks_done,
            workers_replaced=self._replaced,
        )


def _worker_statistics(slot: Slot) -> WorkerStatistics:
    worker = slot.worker
    name = worker.name if worker is not None else f"corepool-worker-{slot.index}"
    pid = worker.pid if worker is not None else None
    return WorkerStatistics(slot.index, name, pid, slot.state, slot.tasks_done)


def _deliver_outcome(chunk: Chunk, outcome: Outcome) -> None:
    """On the results thread: unpickle a chunk's outcome and hand it to its job's sink."""
    try:
        values, errors = outcome.unpack()
    except Exception as error:  # noqa: BLE001 - a broken outcome fails its items, not the pool
        values, errors = [None] * len(chunk), dict.fromkeys(range(len(chunk)), error)
    errors.update(chunk.parent_errors)
    chunk.job.sink.deliver(chunk.start, values, errors)
