"""No input hangs a pool: bad per-task options raise at the call, cancelled delayed tasks do not
keep shutdown waiting, and a crash after a result was sent blames no innocent task."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

import corepool
from support import faults, tasks

BAD_OPTIONS = [
    ({"priority": None}, TypeError, "priority"),
    ({"priority": 1.5}, TypeError, "priority"),
    ({"priority": "high"}, TypeError, "priority"),
    ({"delay": None}, TypeError, "delay"),
    ({"delay": -1}, ValueError, "delay"),
    ({"delay": float("nan")}, ValueError, "delay"),
    ({"timeout": "5"}, TypeError, "timeout"),
    ({"timeout": 0}, ValueError, "timeout"),
    ({"timeout": -1.0}, ValueError, "timeout"),
    ({"retries": 1.0}, TypeError, "retries"),
    ({"retries": -1}, ValueError, "retries"),
]


@pytest.mark.parametrize(("options", "error", "name"), BAD_OPTIONS)
def test_a_bad_task_option_raises_at_the_call_and_the_pool_lives_on(
    pool: corepool.Pool, options: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        pool.apply(tasks.square, (3,), **options)
    with pytest.raises(error, match=name):
        pool.apply_async(tasks.square, (3,), **options)
    map_options = {key: value for key, value in options.items() if key != "delay"}
    if map_options:
        with pytest.raises(error, match=name):
            pool.map(tasks.square, [1, 2], **map_options)
        with pytest.raises(error, match=name):
            pool.imap(tasks.square, [1, 2], **map_options)
    assert pool.apply(tasks.square, (4,)) == 16


@pytest.mark.parametrize(("options", "error", "name"), BAD_OPTIONS)
def test_a_bad_executor_option_raises_at_the_call(
    make_executor: Callable[..., Any], options: dict[str, Any], error: type[Exception], name: str
) -> None:
    executor = make_executor()
    with pytest.raises(error, match=name):
        executor.schedule(tasks.square, (3,), **options)
    assert executor.submit(tasks.square, 5).result(timeout=30) == 25


@pytest.mark.parametrize(
    ("chunksize", "error"), [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("9", TypeError)]
)
def test_a_bad_chunksize_raises_at_the_call(
    pool: corepool.Pool, chunksize: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="chunksize"):
        pool.map(tasks.square, [1, 2], chunksize)
    assert pool.map(tasks.square, [1, 2]) == [1, 4]


@pytest.mark.parametrize("how", ["future.cancel", "executor.cancel", "cancel_futures"])
def test_cancelling_a_delayed_task_lets_shutdown_return(
    make_executor: Callable[..., Any], how: str
) -> None:
    executor = make_executor()
    future = executor.schedule(tasks.square, (3,), delay=30)
    if how == "future.cancel":
        assert future.cancel()
        executor.shutdown(wait=True)
    elif how == "executor.cancel":
        assert executor.cancel(future)
        executor.shutdown(wait=True)
    else:
        executor.shutdown(wait=True, cancel_futures=True)
    assert future.cancelled()


def test_a_pool_with_a_cancelled_delayed_task_closes(pool: corepool.Pool) -> None:
    result = pool.apply_async(tasks.square, (3,), delay=30)
    pool.cancel(result)
    pool.close()
    pool.join()
    with pytest.raises(corepool.TaskCancelledError):
        result.get(timeout=1)


def test_a_crash_after_a_result_was_sent_does_not_fail_a_task_that_had_not_started(
    make_pool: Callable[..., corepool.Pool], backend: str
) -> None:
    if backend != "processes":
        pytest.skip("a crash ends a thread backend's whole process: nothing to attribute")
    pool = make_pool(1)
    assert pool.apply(faults.crash_after_returning, (0.3,)) == "returned"
    # The next task is still being read (unpickled) when the worker dies: it is run again on a
    # new worker, without using retries, and succeeds.
    slow = faults.SlowToUnpickle(1.0)
    result = pool.apply(tasks.identity, (slow,), retries=0)
    assert isinstance(result, faults.SlowToUnpickle)
    assert pool.statistics().workers_replaced == 1


def test_shutdown_returns_when_the_last_work_was_a_cancelled_map_waiting_for_a_new_worker() -> None:
    # Workers take 1 s to start.  The map fails at item 0 (its worker exited), so it is
    # cancelled and the executor closed; then item 2's worker exits too and item 3 waits for a
    # replacement.  Once one is ready, item 3 is dropped (its map was cancelled), and that was
    # the closing pool's last work: shutdown() used to wait for it forever.
    executor = corepool.ProcessPoolExecutor(2, initializer=time.sleep, initargs=(1.0,))
    try:
        with pytest.raises(BrokenProcessPool):
            list(executor.map(faults.exit_early_and_late, range(4), chunksize=2))
        executor.shutdown(wait=False)
        assert executor._engine.join(timeout=30), "shutdown() would wait forever"
    finally:
        executor._engine.terminate()
        executor._engine.join(timeout=30)
