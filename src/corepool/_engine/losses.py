"""The dispatcher's side of losing workers: the timeouts that stop one, how one was lost, what
its chunk becomes, and what the tasks of a terminated pool fail with.

    dispatcher ─ watch(slot, chunk) ─▶ timeouts (a chunk of a call with a timeout)
    dispatcher ─ lost(chunk, reason, worker, ...) ─▶ recovery: which parts fail, which run again

Loaded with the dispatcher; what does the work is not: ``timeouts`` loads with the first call
that has a timeout, ``recovery`` with the first lost worker.  Most programs meet neither, and
those modules (with ``rework`` and ``combined_errors``, loaded on first need the same way) were
~1 ms of every program's first pool (benchmarks/results: start_first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from corepool import errors
from corepool._backends.base import Capabilities, WorkerHandle
from corepool._engine.event_loop import EventLoop
from corepool._engine.slots import Slot, StopReason
from corepool._engine.tasks import Chunk

if TYPE_CHECKING:
    from corepool._engine.recovery import LossWitness, Recovery
    from corepool._engine.timeouts import TaskTimeouts
    from corepool._lifecycle.oom import OomWatch


class Losses:
    def __init__(
        self,
        loop: EventLoop,
        capabilities: Capabilities,
        max_unstarted_losses: int,
        stop: Callable[[Slot, StopReason], None],
    ) -> None:
        self._loop = loop
        self._capabilities = capabilities
        self._max_unstarted_losses = max_unstarted_losses
        self._stop = stop
        """Stops a slot's worker (``Workers.stop``): a timeout that expired does."""
        self._oom_watch: OomWatch | None = None
        self._timeouts: TaskTimeouts | None = None
        self._witness: LossWitness | None = None

    def start(self) -> None:
        """Take the count of out-of-memory kills so far: those are not this pool's workers'.

        On the loop thread once the workers were asked for, before any can take a task, rather
        than in the pool's constructor: the few file reads then overlap the workers' start."""
        if self._capabilities.isolates_workers:
            from corepool._lifecycle.oom import OomWatch

            self._oom_watch = OomWatch.for_this_process()

    def watch(self, slot: Slot, chunk: Chunk) -> None:
        """The chunk was handed to the slot's worker: stop the worker if it runs an item of it
        longer than the call's timeout."""
        if chunk.job.options.timeout is None:
            return
        if self._timeouts is None:
            from corepool._engine.timeouts import TaskTimeouts

            self._timeouts = TaskTimeouts(self._loop, self._timed_out)
        self._timeouts.watch(slot, chunk)

    def _timed_out(self, slot: Slot) -> None:
        self._stop(slot, StopReason.TIMEOUT)

    def lost(
        self,
        chunk: Chunk,
        reason: StopReason | None,
        worker: WorkerHandle,
        exitcode: int | None,
        detail: str,
        may_retry: bool,
    ) -> Recovery:
        """What becomes of ``chunk``, whose worker went (stopped for ``reason``, or None: it
        died): which of its parts fail, and with what, and which run again."""
        from corepool._engine.recovery import LossKind, LossWitness, plan_recovery

        if self._witness is None:
            self._witness = LossWitness(
                self._capabilities, self._oom_watch, self._max_unstarted_losses
            )
        if reason is StopReason.TIMEOUT:
            kind = LossKind.TIMEOUT
        elif reason is StopReason.CANCEL:
            kind = LossKind.CANCEL
        else:  # it died, or went while stopping for another reason (closing, recycling, ...)
            kind = LossKind.DIED
        loss = self._witness.loss(kind, worker.pid, exitcode, detail, may_retry)
        return plan_recovery(chunk, worker.position(), loss)


def termination_error() -> BaseException:
    """What the unfinished tasks of a terminated pool fail with.  Made only when there are some:
    a ``TaskCancelledError`` loads ``concurrent.futures`` (see the end of ``errors.py``)."""
    return errors.TaskCancelledError("the pool was terminated before this task finished")
