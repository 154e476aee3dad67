"""Per-task timeouts count per item, from when the worker started it (``_engine/timeouts.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from corepool._backends.base import Phase, WorkerPosition
from corepool._engine.chunking import ChunkSizer
from corepool._engine.event_loop import EventLoop
from corepool._engine.sinks import SingleSink
from corepool._engine.slots import Slot
from corepool._engine.tasks import Chunk, Job, TaskOptions
from corepool._engine.timeouts import TaskTimeouts
from corepool._wire.messages import CallStyle
from corepool.settings import Settings


class _Loop:
    """Records what would run later; the test runs it."""

    def __init__(self) -> None:
        self.later: list[tuple[float, Callable[..., Any], tuple[Any, ...]]] = []

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> object:
        self.later.append((delay, fn, args))
        return object()

    def run_next(self) -> float:
        delay, fn, args = self.later.pop(0)
        fn(*args)
        return delay


class _Worker:
    def __init__(self) -> None:
        self.at = WorkerPosition(0, Phase.READING, 0, 0)

    def position(self) -> WorkerPosition:
        return self.at


def _chunk(timeout: float | None) -> Chunk:
    sink = SingleSink(lambda value: None, lambda error: None)
    job = Job(abs, CallStyle.ONE, TaskOptions(timeout=timeout), sink,
              ChunkSizer(abs, 1, Settings()), "map(abs)")  # fmt: skip
    return Chunk(job, 0, [1, 2, 3])


def _timeouts(loop: _Loop, expired: list[Slot]) -> TaskTimeouts:
    return TaskTimeouts(cast(EventLoop, loop), expired.append)


def _running(chunk: Chunk) -> tuple[Slot, _Worker]:
    slot, worker = Slot(0), _Worker()
    slot.worker, slot.ready, slot.chunk = cast(Any, worker), True, chunk
    slot.assigned_ns = time.monotonic_ns()
    return slot, worker


def test_a_chunk_without_a_timeout_is_not_watched() -> None:
    loop = _Loop()
    chunk = _chunk(None)
    _timeouts(loop, []).watch(_running(chunk)[0], chunk)
    assert loop.later == []


def test_the_clock_restarts_with_each_item_and_expires_on_a_slow_one() -> None:
    loop, expired = _Loop(), list[Slot]()
    timeouts = _timeouts(loop, expired)
    chunk = _chunk(10.0)
    slot, worker = _running(chunk)
    timeouts.watch(slot, chunk)
    # The third item started 4 s ago (the first two took 10 s together): 6 s are left for it.
    worker.at = WorkerPosition(chunk.id, Phase.RUNNING, 2, time.monotonic_ns() - 4_000_000_000)
    assert loop.run_next() == 10.0
    [(left, _, _)] = loop.later
    assert 5.5 < left <= 6.0 and expired == []
    worker.at = worker.at._replace(started_ns=time.monotonic_ns() - 11_000_000_000)
    loop.run_next()
    assert expired == [slot] and loop.later == []


def test_a_chunk_no_longer_running_is_not_stopped() -> None:
    loop, expired = _Loop(), list[Slot]()
    chunk = _chunk(1.0)
    slot, worker = _running(chunk)
    _timeouts(loop, expired).watch(slot, chunk)
    slot.chunk = None  # it finished in time
    worker.at = WorkerPosition(chunk.id, Phase.RUNNING, 0, 0)
    loop.run_next()
    assert expired == [] and loop.later == []


def test_a_worker_still_starting_has_not_begun_the_clock() -> None:
    loop, expired = _Loop(), list[Slot]()
    chunk = _chunk(1.0)
    slot, _ = _running(chunk)
    slot.ready = False  # in its initializer, say
    _timeouts(loop, expired).watch(slot, chunk)
    loop.run_next()
    [(left, _, _)] = loop.later
    assert left > 0.99 and expired == []
