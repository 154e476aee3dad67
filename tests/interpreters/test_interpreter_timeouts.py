"""A subinterpreter cannot be stopped mid-task: a timed-out task fails on time, its worker is
abandoned and replaced, and the pool goes on."""

from __future__ import annotations

import time

import interp_tasks
import pytest

import corepool
from support import tasks


def test_a_timed_out_task_fails_on_time_and_its_worker_is_replaced(
    make_pool: type[corepool.Pool],
) -> None:
    pool = make_pool(1)
    pool.apply(tasks.square, (1,))  # the worker is up
    started = time.monotonic()
    with pytest.raises(corepool.TaskTimeoutError):
        pool.apply(interp_tasks.nap_then, (5.0,), timeout=0.3)
    assert time.monotonic() - started < 4.0  # not after the task's 5 s
    assert pool.apply(tasks.square, (4,)) == 16
    assert pool.statistics().workers_replaced == 1


def test_timeouts_fail_only_the_slow_items_of_a_map(make_pool: type[corepool.Pool]) -> None:
    pool = make_pool(2)
    # Sent at once, while the second worker may still be starting: its timeout still counts.
    results = pool.map_async(interp_tasks.nap_then, [0.0, 3.0, 0.0, 0.0], chunksize=1, timeout=0.5)
    with pytest.raises(corepool.TaskTimeoutError):
        results.get(2.5)
    assert pool.map(tasks.square, range(6)) == [x * x for x in range(6)]
