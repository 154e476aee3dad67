"""Priority (highest first, FIFO among equals) and delay (the pool's threading.Timer)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import corepool
from support import tasks
from support.waiting import wait_until


def test_priority_orders_pending_tasks(
    make_pool: Callable[..., corepool.Pool], gate: Any, started: Any
) -> None:
    pool = make_pool(1)
    # With a timeout nothing waits behind the blocker in its worker (``_engine/queueing``): a
    # task the pool estimated short from earlier tests would have the first ones queued behind
    # it, out of the pending queue, where a later higher priority cannot overtake them.
    blocker = pool.apply_async(tasks.signal_then_wait, (started, gate), timeout=60)
    assert started.wait(30)
    submitted = [("low", 0), ("high", 9), ("mid", 5), ("mid-2", 5), ("urgent", 20), ("low-2", 0)]
    results = [
        pool.apply_async(tasks.started_at, (name,), priority=priority)
        for name, priority in submitted
    ]
    gate.set()
    blocker.get(timeout=30)
    order = [name for name, _ in sorted((r.get(timeout=30) for r in results), key=lambda t: t[1])]
    assert order == ["urgent", "high", "mid", "mid-2", "low", "low-2"]


def test_map_priority(make_pool: Callable[..., corepool.Pool], gate: Any, started: Any) -> None:
    pool = make_pool(1)
    pool.apply_async(tasks.signal_then_wait, (started, gate), timeout=60)  # (see above)
    assert started.wait(30)
    background = pool.map_async(tasks.started_at, ["bg"] * 3, chunksize=1)
    urgent = pool.map_async(tasks.started_at, ["urgent"] * 3, chunksize=1, priority=1)
    # Both calls' feeder threads hand their chunks over asynchronously: wait until all six wait.
    wait_until(lambda: pool.statistics().tasks_queued == 6, what="all six tasks to be queued")
    gate.set()
    last_urgent = max(t for _, t in urgent.get(timeout=30))
    first_background = min(t for _, t in background.get(timeout=30))
    assert last_urgent < first_background


def test_delay_holds_a_task_back(pool: corepool.Pool) -> None:
    submitted = time.monotonic_ns()
    delayed = pool.apply_async(tasks.started_at, ("late",), delay=0.3)
    prompt = pool.apply_async(tasks.started_at, ("now",))
    _, prompt_start = prompt.get(timeout=30)
    _, delayed_start = delayed.get(timeout=30)
    assert delayed_start - submitted >= 0.3e9
    assert prompt_start < delayed_start


def test_delayed_task_counts_as_queued(pool: corepool.Pool) -> None:
    delayed = pool.apply_async(tasks.square, (3,), delay=0.5)
    assert pool.statistics().tasks_queued == 1
    assert delayed.get(timeout=30) == 9
    assert pool.statistics().tasks_queued == 0


def test_negative_delay_is_refused(pool: corepool.Pool) -> None:
    import pytest

    with pytest.raises(ValueError, match="delay"):
        pool.apply_async(tasks.square, (1,), delay=-1)
