"""The concurrent.futures front doors, on every backend."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

import pytest

import corepool
from support import tasks


def test_submit_returns_a_real_future(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    future = executor.submit(tasks.add, 2, b=3)
    assert isinstance(future, concurrent.futures.Future)
    assert future.result(timeout=30) == 5


def test_executor_is_a_concurrent_futures_executor(make_executor: Callable[..., Any]) -> None:
    assert isinstance(make_executor(), concurrent.futures.Executor)


def test_wait_and_as_completed(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    futures = [executor.submit(tasks.square, i) for i in range(20)]
    _, not_done = concurrent.futures.wait(futures, timeout=30)
    assert not not_done
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures)) == [
        i * i for i in range(20)
    ]


def test_exceptions_are_set_on_the_future(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    future = executor.submit(tasks.raise_value_error, 5)
    assert isinstance(future.exception(timeout=30), ValueError)
    with pytest.raises(ValueError, match="bad value 5"):
        future.result()
    assert executor.submit(tasks.square, 3).result(timeout=30) == 9


def test_done_callbacks_run_in_the_parent(make_executor: Callable[..., Any], gate: Any) -> None:
    executor = make_executor()
    names: list[str] = []
    done = threading.Event()

    def record(future: concurrent.futures.Future[int]) -> None:
        names.append(threading.current_thread().name)
        done.set()

    # Added before the task can finish (a callback added to a finished future runs at once, in
    # the thread that adds it, as in the standard library).
    executor.submit(tasks.wait_for, gate).add_done_callback(record)
    gate.set()
    assert done.wait(30)
    assert names == ["corepool-results"]


def test_map_in_order_with_several_iterables(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    assert list(executor.map(tasks.square, range(100))) == [i * i for i in range(100)]
    assert list(executor.map(tasks.add, range(5), range(10, 100))) == [10, 12, 14, 16, 18]


def test_map_raises_errors_where_they_belong(make_executor: Callable[..., Any]) -> None:
    results = make_executor().map(tasks.fail_on, range(6))
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3 is bad"):
        next(results)


def test_map_timeout_counts_from_the_call(make_executor: Callable[..., Any], gate: Any) -> None:
    results = make_executor().map(tasks.wait_for, [gate], timeout=0.1)
    with pytest.raises(concurrent.futures.TimeoutError):
        next(results)
    gate.set()


def test_map_buffersize_and_chunksize(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    assert list(executor.map(tasks.square, range(50), buffersize=4)) == [i * i for i in range(50)]
    assert list(executor.map(tasks.square, range(50), chunksize=8)) == [i * i for i in range(50)]
    with pytest.raises(ValueError, match="buffersize"):
        executor.map(tasks.square, range(3), buffersize=0)


def test_shutdown_refuses_new_work(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    future = executor.submit(tasks.square, 6)
    executor.shutdown(wait=True)
    assert future.result(timeout=0) == 36
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        executor.submit(tasks.square, 1)


def test_shutdown_cancel_futures(
    make_executor: Callable[..., Any], gate: Any, started: Any
) -> None:
    executor = make_executor(1)
    running = executor.submit(tasks.signal_then_wait, started, gate, "ran")
    assert started.wait(30)
    waiting = [executor.submit(tasks.square, i) for i in range(5)]
    # The first task occupies the only worker; the others wait in the queue.
    executor.shutdown(wait=False, cancel_futures=True)
    assert all(future.cancelled() for future in waiting)
    gate.set()
    assert running.result(timeout=30) == "ran"
    executor.shutdown(wait=True)


def test_cancel_a_pending_future(make_executor: Callable[..., Any], gate: Any) -> None:
    executor = make_executor(1)
    blocker = executor.submit(tasks.wait_for, gate)
    pending = executor.submit(tasks.square, 3)
    assert pending.cancel()
    gate.set()
    blocker.result(timeout=30)
    assert pending.cancelled()
    assert executor.submit(tasks.square, 4).result(timeout=30) == 16


def test_context_manager_waits(make_executor: Callable[..., Any]) -> None:
    with make_executor() as executor:
        futures = [executor.submit(tasks.sleep_then, 0.01, i) for i in range(10)]
    assert [future.result(timeout=0) for future in futures] == list(range(10))


def test_schedule_takes_task_options(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    future = executor.schedule(tasks.echo, (1,), {"timeout": 5}, priority=3)
    assert future.result(timeout=30) == ((1,), {"timeout": 5})


def test_submit_passes_keyword_arguments_through(make_executor: Callable[..., Any]) -> None:
    # Keywords named like corepool options still belong to the function.
    future = make_executor().submit(tasks.echo, priority=1, delay=2, timeout=3, retries=4)
    assert future.result(timeout=30) == (
        (),
        {"priority": 1, "delay": 2, "timeout": 3, "retries": 4},
    )


def test_thread_name_prefix() -> None:
    with corepool.ThreadPoolExecutor(2, thread_name_prefix="fetcher") as executor:
        name = executor.submit(tasks.where_am_i).result(timeout=30)[1]
    assert name.startswith("fetcher_")


def test_max_workers_validation() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        corepool.ThreadPoolExecutor(0)
    with pytest.raises(ValueError, match="max_workers"):
        corepool.ProcessPoolExecutor(0)


def test_shutdown_cancel_futures_still_runs_the_tasks_next_in_line(
    make_executor: Callable[..., Any],
) -> None:
    # As the standard's call queue: the tasks a starting or idle worker takes next are not
    # cancelled, even when no worker is ready yet; the rest are.
    executor = make_executor(2)
    futures = [executor.submit(tasks.sleep_then, 0.2, i) for i in range(20)]
    executor.shutdown(wait=True, cancel_futures=True)
    ran = [future.result(timeout=0) for future in futures if not future.cancelled()]
    assert len(ran) >= 2
    assert sum(future.cancelled() for future in futures) >= 10


def test_an_executor_whose_threads_cannot_start_is_broken(
    make_executor: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # At interpreter shutdown no thread can start: the standard executors then fail the tasks
    # with BrokenProcessPool / BrokenThreadPool instead of raising in the constructor.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        executor = make_executor(2)
    with pytest.raises(concurrent.futures.BrokenExecutor, match="cannot start its threads"):
        executor.submit(tasks.square, 2)
    with pytest.raises(concurrent.futures.BrokenExecutor):
        list(executor.map(tasks.square, range(3)))
    assert executor._broken
    executor.shutdown(wait=True)


def test_an_initializer_failure_breaks_the_executor_and_is_logged(
    make_executor: Callable[..., Any], backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    executor = make_executor(2, initializer=tasks.raise_value_error)
    with pytest.raises(concurrent.futures.BrokenExecutor):
        executor.submit(tasks.square, 2).result(timeout=30)
    with pytest.raises(concurrent.futures.BrokenExecutor):
        executor.submit(tasks.square, 2)
    assert "raise_value_error" in str(executor._broken) or "ValueError" in str(executor._broken)
    if backend == "threads":  # a process worker logs in its own process, as the standard does
        assert "Exception in initializer:" in caplog.text
