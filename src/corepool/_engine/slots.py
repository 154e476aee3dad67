"""The dispatcher's record of each worker position, and how a worker is asked to go.

A slot outlives its workers: when a worker exits, a new one takes the same slot (same index,
same name).  Stopping a worker is a small state machine, driven by ``StopReason`` and ``Step``:

    StopReason      first step     then, each after Settings.shutdown_grace_seconds
    RECYCLE, CLOSE, ASK (Stop)     TERMINATE ─▶ KILL ─▶ GIVE_UP
    REPLACE
    INIT_FAILED     WAIT           TERMINATE ─▶ KILL ─▶ GIVE_UP   (it exits by itself)
    TERMINATE       TERMINATE      KILL ─▶ GIVE_UP
    TIMEOUT, CANCEL KILL           GIVE_UP
    START_TIMEOUT   KILL           GIVE_UP

``GIVE_UP`` is for a backend that never reports the exit: the dispatcher then declares the
worker gone itself, so that ``join()`` always returns.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from corepool._backends.base import WorkerHandle
from corepool._choice import Choice
from corepool._engine.event_loop import TimerHandle
from corepool._engine.tasks import Chunk

if TYPE_CHECKING:
    from corepool.insights.statistics import WorkerState


class Step(Choice):
    WAIT = "wait"
    ASK = "ask"
    TERMINATE = "terminate"
    KILL = "kill"
    GIVE_UP = "give up"

    def next(self) -> Step:
        return _NEXT[self]


_NEXT = {
    Step.WAIT: Step.TERMINATE,
    Step.ASK: Step.TERMINATE,
    Step.TERMINATE: Step.KILL,
    Step.KILL: Step.GIVE_UP,
    Step.GIVE_UP: Step.GIVE_UP,
}


class StopReason(Choice):
    RECYCLE = "recycle"
    """The worker reached ``maxtasksperchild`` or its memory limit."""
    CLOSE = "close"
    TERMINATE = "terminate"
    INIT_FAILED = "init-failed"
    TIMEOUT = "timeout"
    CANCEL = "cancel"
    START_TIMEOUT = "start-timeout"
    REPLACE = "replace"
    """The backend asked for workers of another kind (``backend="auto"``)."""

    @property
    def first_step(self) -> Step:
        return _FIRST_STEP[self]

    @property
    def replaced(self) -> bool:
        """Whether a new worker takes the slot once this one has gone."""
        return self in _REPLACED


_REPLACED = frozenset(
    (
        StopReason.RECYCLE,
        StopReason.TIMEOUT,
        StopReason.CANCEL,
        StopReason.START_TIMEOUT,
        StopReason.REPLACE,
    )
)


_FIRST_STEP = {
    StopReason.RECYCLE: Step.ASK,
    StopReason.CLOSE: Step.ASK,
    StopReason.INIT_FAILED: Step.WAIT,
    StopReason.TERMINATE: Step.TERMINATE,
    StopReason.TIMEOUT: Step.KILL,
    StopReason.CANCEL: Step.KILL,
    StopReason.START_TIMEOUT: Step.KILL,
    StopReason.REPLACE: Step.ASK,
}


class Slot:
    # A plain class: a dataclass costs ~1 ms to define, paid by every program's first pool.
    def __init__(self, index: int) -> None:
        self.index = index
        self.worker: WorkerHandle | None = None
        self.ready = False
        self.chunk: Chunk | None = None
        """The chunk the worker runs (or was sent last, while it had none)."""
        self.queued: deque[tuple[Chunk, float]] = deque()
        """Chunks sent to the worker behind ``chunk``, to run next in this order, each with its
        estimated seconds (``queueing.py``)."""
        self.queued_seconds = 0.0
        self.running_seconds: float | None = None
        """The estimated seconds of ``chunk``, if it is short enough to have others queued behind
        it (``queueing.queueable_seconds``); None otherwise."""
        self.tasks_done = 0
        self.stop_reason: StopReason | None = None
        self.timer: TimerHandle | None = None
        """The running chunk's timeout check, the start timeout, or the next shutdown step."""
        self.assigned_ns = 0
        """``time.monotonic_ns()`` when the chunk was handed over (timeouts before it is read)."""

    def __repr__(self) -> str:
        return f"Slot({self.index}, {self.state}, worker={self.worker!r}, chunk={self.chunk!r})"

    @property
    def tasks_held(self) -> int:
        """Tasks sent to the worker and not answered yet: its chunk and those queued behind it."""
        running = len(self.chunk) if self.chunk is not None else 0
        return running + sum(len(chunk) for chunk, _ in self.queued)

    @property
    def idle(self) -> bool:
        return self.worker is not None and self.chunk is None and self.stop_reason is None

    @property
    def state(self) -> WorkerState:
        if self.worker is None or self.stop_reason is not None:
            return "stopping"
        if not self.ready:
            return "starting"
        return "busy" if self.chunk is not None else "idle"

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def take_step(self, step: Step) -> None:
        """Carry out one shutdown step on the worker (``GIVE_UP`` is the dispatcher's)."""
        worker = self.worker
        assert worker is not None
        if step is Step.ASK:
            worker.stop()
        elif step is Step.TERMINATE:
            worker.terminate()
        elif step is Step.KILL:
            worker.kill()
