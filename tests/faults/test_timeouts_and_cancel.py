"""Per-task timeouts stop the worker; cancel stops a running task; waiting is not the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import corepool
from support import faults, tasks


def test_timeout_fails_the_task_and_others_are_unaffected(
    make_pool: Callable[..., corepool.Pool],
) -> None:
    pool = make_pool(2)
    slow = pool.apply_async(tasks.sleep_then, (30, "never"), timeout=0.5)
    quick = [pool.apply_async(tasks.square, (i,)) for i in range(20)]
    with pytest.raises(corepool.TaskTimeoutError) as caught:
        slow.get(timeout=20)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.timeout == 0.5
    assert "sleep_then" in caught.value.task
    assert [r.get(timeout=30) for r in quick] == [i * i for i in range(20)]
    assert pool.apply(tasks.square, (6,)) == 36
    assert pool.statistics().workers_replaced == 1


def test_pool_wide_default_timeout(backend: str) -> None:
    with corepool.Pool(1, backend=backend, timeout=0.3) as pool:
        with pytest.raises(corepool.TaskTimeoutError):
            pool.apply(tasks.sleep_then, (30,))
        assert pool.apply(tasks.sleep_then, (0.01, "ok"), timeout=10) == "ok"


def test_map_with_a_timeout_fails_only_the_slow_item(
    make_pool: Callable[..., corepool.Pool],
) -> None:
    pool = make_pool(2)
    durations = [0.01] * 10 + [30] + [0.01] * 10
    results = pool.imap(tasks.sleep_then, durations, timeout=1.0, chunksize=4)
    collected: list[object] = []
    for _ in durations:
        try:
            collected.append(next(results))
        except corepool.TaskTimeoutError as error:
            collected.append(error)
    assert isinstance(collected[10], corepool.TaskTimeoutError)
    assert "item 10 of imap(sleep_then)" in collected[10].task
    assert collected[:10] == [None] * 10 and collected[11:] == [None] * 10


def test_waiting_with_a_timeout_leaves_the_task_running(
    make_pool: Callable[..., corepool.Pool], gate: Any
) -> None:
    pool = make_pool(1)
    result = pool.apply_async(tasks.wait_for, (gate, "done"))
    with pytest.raises(corepool.TimeoutError):
        result.get(timeout=0.1)
    gate.set()
    assert result.get(timeout=30) == "done"
    assert pool.statistics().workers_replaced == 0


def test_executor_schedule_timeout(make_executor: Callable[..., Any]) -> None:
    executor = make_executor(1)
    future = executor.schedule(tasks.sleep_then, (30,), timeout=0.3)
    with pytest.raises(corepool.TaskTimeoutError):
        future.result(timeout=20)
    assert executor.submit(tasks.square, 4).result(timeout=30) == 16


def test_hang_in_a_worker_thread_is_abandoned_and_replaced() -> None:
    with corepool.ThreadPool(1) as pool:
        stuck = pool.apply_async(tasks.sleep_then, (2, "late"), timeout=0.2)
        with pytest.raises(corepool.TaskTimeoutError):
            stuck.get(timeout=20)
        # A fresh thread took over: the pool answers while the old one still sleeps.
        assert pool.apply(tasks.square, (3,)) == 9


def test_cancel_a_running_task(
    make_pool: Callable[..., corepool.Pool], backend: str, gate: Any, started: Any
) -> None:
    pool = make_pool(1)
    running = pool.apply_async(tasks.signal_then_wait, (started, gate))
    assert started.wait(30)
    queued = pool.apply_async(tasks.square, (2,))
    pool.cancel(running)
    with pytest.raises(corepool.TaskCancelledError):
        running.get(timeout=20)
    assert queued.get(timeout=30) == 4
    assert pool.apply(tasks.square, (5,)) == 25
    gate.set()


def test_cancel_a_map_stops_its_tasks(make_pool: Callable[..., corepool.Pool]) -> None:
    pool = make_pool(2)
    result = pool.map_async(tasks.sleep_then, [5] * 10, chunksize=1)
    pool.cancel(result)
    with pytest.raises(corepool.TaskCancelledError):
        result.get(timeout=20)
    assert pool.map(tasks.square, range(5)) == [0, 1, 4, 9, 16]


def test_executor_cancel_running_future(
    make_executor: Callable[..., Any], gate: Any, started: Any
) -> None:
    import concurrent.futures

    executor = make_executor(1)
    future = executor.submit(tasks.signal_then_wait, started, gate)
    assert started.wait(30)
    assert not future.cancel()  # the standard method cannot cancel a running future
    assert executor.cancel(future)
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(timeout=20)
    assert executor.submit(tasks.square, 3).result(timeout=30) == 9
    gate.set()


def test_terminate_is_prompt_with_busy_workers() -> None:
    pool = corepool.Pool(2)
    results = [pool.apply_async(tasks.sleep_then, (60,)) for _ in range(4)]
    pool.terminate()
    pool.join()
    for result in results:
        with pytest.raises(corepool.TaskCancelledError):
            result.get(timeout=5)


def test_timeout_during_unpickling_and_packing() -> None:
    with corepool.Pool(1) as pool:
        with pytest.raises(corepool.TaskTimeoutError):
            pool.apply(faults.take, (faults.FailsWhenUnpickled("hang"),), timeout=0.5)
        with pytest.raises(corepool.TaskTimeoutError):
            pool.apply(faults.return_failing_to_pickle, ("hang",), timeout=0.5)
        assert pool.apply(tasks.square, (2,)) == 4
