"""The dispatcher's side of lost workers (``_engine/losses.py``): how the reason a worker was
stopped for decides what its chunk fails with, and that a call without a timeout sets no timer."""

from __future__ import annotations

from typing import cast

from corepool import TaskCancelledError, TaskTimeoutError, WorkerLostError
from corepool._backends.base import Capabilities, Phase, WorkerHandle, WorkerPosition
from corepool._engine.event_loop import EventLoop
from corepool._engine.losses import Losses
from corepool._engine.slots import Slot, StopReason
from corepool._engine.tasks import Chunk
from support.chunks import chunk_of

PROCESSES = Capabilities("processes", kills_workers=True, isolates_workers=False)


class _Worker:
    """What ``Losses.lost`` asks of a worker handle: its pid and how far it got."""

    pid = 4321

    def __init__(self, chunk: Chunk) -> None:
        self._chunk = chunk

    def position(self) -> WorkerPosition:
        return WorkerPosition(self._chunk.id, Phase.RUNNING, 0, 0)


class _Loop:
    def __init__(self) -> None:
        self.timers: list[float] = []

    def call_later(self, delay: float, *args: object) -> object:
        self.timers.append(delay)
        return object()


def _losses(loop: _Loop | None = None) -> Losses:
    return Losses(cast(EventLoop, loop or _Loop()), PROCESSES, 5, lambda slot, reason: None)


def _error_of(reason: StopReason | None, chunk: Chunk) -> BaseException:
    worker = cast(WorkerHandle, _Worker(chunk))
    plan = _losses().lost(chunk, reason, worker, -9, "", may_retry=False)
    [(failed, error)] = plan.failed
    assert failed is chunk and not plan.requeue
    return error


def test_the_stop_reason_decides_what_the_running_task_fails_with() -> None:
    assert isinstance(_error_of(StopReason.TIMEOUT, chunk_of(1, timeout=1.0)), TaskTimeoutError)
    assert isinstance(_error_of(StopReason.CANCEL, chunk_of(1)), TaskCancelledError)
    assert isinstance(_error_of(None, chunk_of(1)), WorkerLostError)  # it died
    assert isinstance(_error_of(StopReason.RECYCLE, chunk_of(1)), WorkerLostError)


def test_only_a_call_with_a_timeout_is_watched() -> None:
    loop = _Loop()
    losses = _losses(loop)
    losses.watch(Slot(0), chunk_of(1))
    assert loop.timers == []
    losses.watch(Slot(1), chunk_of(1, timeout=2.5))
    assert loop.timers == [2.5]
