"""The pool's workers, one per slot: starting them, stopping them step by step, failed starts.

Owned by the dispatcher and used only on the loop thread.  It starts and stops workers and keeps
the slots' worker-side state (ready, stopping, timers); what a slot's chunk becomes is the
dispatcher's business, so every worker that goes (it exited, or was given up on) is handed to
the dispatcher's ``on_gone``.  ``slots.py`` draws the shutdown steps.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from corepool import errors
from corepool._backends.base import Backend, WorkerHandle, WorkerListener
from corepool._engine.event_loop import EventLoop
from corepool._engine.slots import Slot, Step, StopReason
from corepool.settings import Settings

if TYPE_CHECKING:
    from corepool._engine.tasks import Chunk
    from corepool.insights.statistics import WorkerStatistics

Gone = Callable[[Slot, WorkerHandle, "int | None", str], None]
"""``on_gone(slot, worker, exitcode, detail)``: the worker left its slot (``detail`` says why,
when the engine gave up on it rather than hearing it exit)."""


class Workers:
    def __init__(
        self,
        backend: Backend,
        loop: EventLoop,
        settings: Settings,
        size: int,
        listener: WorkerListener,
        on_gone: Gone,
    ) -> None:
        self._backend = backend
        self._loop = loop
        self._settings = settings
        self._listener = listener
        self._on_gone = on_gone
        self.slots = [Slot(index) for index in range(size)]
        # Kept as the slots change (``_refresh``), so that the dispatcher's questions cost the
        # same for 2 workers as for 200: scanning every slot per chunk made starting a pool of
        # N workers O(N^2) (200 workers: ~27 ms of the loop thread's ~185).
        self._starting: set[Slot] = set()
        """A worker is on its way up: started, not ready yet, not asked to stop."""
        self._idle: set[Slot] = set()
        """Ready, holding no chunk, not asked to stop."""
        self._holding: set[Slot] = set()
        """Holding a chunk (running it, or stopping while it did)."""
        self._given_up: set[WorkerHandle] = set()
        """Workers declared gone without an exit report (``Step.GIVE_UP``)."""
        self._start_failures = 0.0
        self.replaced = 0
        self.any_withdraws = False
        """A worker was started that can give a queued chunk back (``queueing``)."""

    def slot_of(self, worker: WorkerHandle) -> Slot | None:
        slot = self.slots[worker.index]
        return slot if slot.worker is worker else None

    def idle_in_order(self) -> list[Slot]:
        """Idle workers that said Ready, the next to take a chunk last (``pop()``).

        Never one still starting: a chunk handed to it would wait for its start, while workers
        already up could have run it.  Starts are spread out (64 workers from the zygote come up
        over ~130 ms on 2 cores), and a map of 256 trivial tasks then waited for the last worker
        to start (benchmarks/start_many); a worker that becomes ready takes pending chunks then.
        """
        idle = list(self._idle)
        if len(idle) > 1:
            idle.sort(key=lambda slot: -slot.index)
        return idle

    @property
    def any_starting(self) -> bool:
        """A worker is on its way up: it will take pending chunks when it says Ready."""
        return bool(self._starting)

    @property
    def any_idle(self) -> bool:
        """A worker is ready and holds no chunk."""
        return bool(self._idle)

    @property
    def any_holding(self) -> bool:
        """A worker holds a chunk (its outcome, or its loss, is still to come)."""
        return bool(self._holding)

    @property
    def all_gone(self) -> bool:
        return all(slot.worker is None for slot in self.slots)

    def set_chunk(self, slot: Slot, chunk: Chunk | None) -> None:
        """The chunk the slot's worker runs now (None: it answered for the last one)."""
        slot.chunk = chunk
        self._refresh(slot)

    def _refresh(self, slot: Slot) -> None:
        """File the slot under what it is now; every change to its worker, ``ready``,
        ``chunk`` or ``stop_reason`` comes through here (``tests/engine/test_workers_sets``)."""
        up = slot.worker is not None and slot.stop_reason is None
        _file(self._starting, slot, up and not slot.ready)
        _file(self._idle, slot, up and slot.ready and slot.chunk is None)
        _file(self._holding, slot, slot.chunk is not None)

    # -- starting

    def start(self, slot: Slot) -> None:
        worker = self._backend.start_worker(slot.index, self._loop, self._listener)
        slot.worker, slot.tasks_done = worker, 0
        self.any_withdraws = self.any_withdraws or worker.withdraws_queued
        self._refresh(slot)
        start_timeout = self._settings.worker_start_timeout
        if start_timeout is not None:
            slot.timer = self._loop.call_later(start_timeout, self._start_timed_out, slot, worker)

    def mark_ready(self, slot: Slot) -> None:
        slot.ready = True
        self._refresh(slot)
        # The start timeout (a worker still starting holds no chunk, ``idle_in_order``).
        if slot.stop_reason is None and slot.chunk is None:
            slot.cancel_timer()
        self._start_failures = 0.0

    def _start_timed_out(self, slot: Slot, worker: WorkerHandle) -> None:
        slot.timer = None
        if slot.worker is worker and not slot.ready and slot.stop_reason is None:
            self.stop(slot, StopReason.START_TIMEOUT)

    def start_failed(
        self, exitcode: int | None, *, killed_by_us: bool
    ) -> errors.WorkerStartError | None:
        """Count a worker that went before it was ready; the error once too many did."""
        # A worker SIGKILLed while starting was most likely killed from outside (or by the OOM
        # killer), not broken by its own start-up: those count a quarter as much.
        from_outside = exitcode == -signal.SIGKILL and not killed_by_us
        self._start_failures += 0.25 if from_outside else 1
        if self._start_failures < self._settings.max_start_failures:
            return None
        return errors.WorkerStartError(
            "worker processes keep exiting while they start "
            f"(the last with exit code {exitcode}); their error output above says why"
        )

    # -- stopping

    def stop(self, slot: Slot, reason: StopReason) -> None:
        """Ask the worker to go, escalating step by step (see ``slots``) if it does not."""
        assert slot.worker is not None
        slot.stop_reason = reason
        self._refresh(slot)
        slot.cancel_timer()
        self._take_step(slot, slot.worker, reason.first_step)

    def _take_step(self, slot: Slot, worker: WorkerHandle, step: Step) -> None:
        if slot.worker is not worker:
            return  # it exited meanwhile
        slot.timer = None
        if step is Step.GIVE_UP:
            self._given_up.add(worker)
            self._on_gone(slot, worker, None, "it did not exit after being killed")
            return
        slot.take_step(step)
        if slot.worker is worker:  # a backend may report the exit from within the step
            grace = self._settings.shutdown_grace_seconds
            slot.timer = self._loop.call_later(grace, self._take_step, slot, worker, step.next())

    def exited(self, worker: WorkerHandle, exitcode: int | None) -> None:
        """The backend reported the worker's exit (``WorkerListener.worker_exited``)."""
        slot = self.slot_of(worker)
        if slot is None:  # a second report, or a worker given up on that exited at last
            if worker in self._given_up:
                self._given_up.discard(worker)
                worker.release()
            return
        worker.release()
        self._on_gone(slot, worker, exitcode, "")

    def vacate(self, slot: Slot) -> None:
        """Clear a slot whose worker went (its chunk was taken care of)."""
        slot.cancel_timer()
        slot.chunk = slot.worker = slot.stop_reason = None
        slot.ready = False
        self._refresh(slot)

    # -- insight

    def statistics(self) -> tuple[WorkerStatistics, ...]:
        return tuple(_statistics_of(slot) for slot in self.slots)


def _statistics_of(slot: Slot) -> WorkerStatistics:
    from corepool.insights.statistics import WorkerStatistics  # only when asked for

    worker = slot.worker
    name = worker.name if worker is not None else f"corepool-worker-{slot.index}"
    pid = worker.pid if worker is not None else None
    return WorkerStatistics(slot.index, name, pid, slot.state, slot.tasks_done)


def _file(members: set[Slot], slot: Slot, belongs: bool) -> None:
    if belongs:
        members.add(slot)
    else:
        members.discard(slot)
