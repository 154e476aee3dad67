"""``pool.insights()``: per-worker time, the slowest tasks with their arguments, suggestions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool
from corepool.insights.report import WorkerInsight, suggest
from support import tasks


def test_insights_account_for_every_task_and_show_as_a_table(pool: corepool.Pool) -> None:
    pool.map(tasks.sleep_then, [0.002] * 40, chunksize=1)
    report = pool.insights()
    assert report.tasks == 40
    assert sum(worker.chunks for worker in report.workers) == 40
    assert all(worker.busy_seconds > 0 for worker in report.workers if worker.tasks)
    table = str(report)
    assert "waiting for work" in table and "40 tasks" in table


def test_the_slowest_tasks_come_with_their_arguments(pool: corepool.Pool) -> None:
    pool.map(tasks.sleep_then, [0.001] * 10 + [0.15], chunksize=1)
    slowest = pool.insights().slowest[0]
    assert slowest.task == "item 10 of map(sleep_then)"
    assert slowest.arguments == "(0.15,)"
    assert slowest.seconds >= 0.15


def test_long_arguments_are_shortened(pool: corepool.Pool) -> None:
    pool.apply(tasks.identity, ("x" * 10_000,))
    assert len(pool.insights().slowest[0].arguments) < 100


def test_tiny_tasks_in_small_explicit_chunks_get_a_chunksize_suggestion(
    make_pool: Callable[..., corepool.Pool], backend: str
) -> None:
    if backend != "processes":
        pytest.skip("moving a chunk to a thread costs too little to matter")
    pool = make_pool(2)
    pool.map(tasks.square, range(3000), chunksize=1)
    assert any("chunksize" in advice for advice in pool.insights().suggestions)


def test_python_computing_on_threads_gets_a_processes_suggestion(
    make_pool: Callable[..., corepool.Pool], backend: str
) -> None:
    if backend != "threads":
        pytest.skip("the suggestion is for pools on threads")
    pool = make_pool(2)
    pool.map(tasks.python_loop, range(16), chunksize=1)
    assert any("processes" in advice for advice in pool.insights().suggestions)


def test_waiting_on_processes_gets_a_threads_suggestion(
    make_pool: Callable[..., corepool.Pool], backend: str
) -> None:
    if backend != "processes":
        pytest.skip("the suggestion is for pools on processes")
    pool = make_pool(2)
    pool.map(tasks.sleep_then, [0.02] * 20, chunksize=1)
    assert any("threads" in advice for advice in pool.insights().suggestions)


def slow_input(count: int, pause: float) -> Iterator[int]:
    for index in range(count):
        time.sleep(pause)  # the input itself is slow: that is what is measured
        yield index


def test_a_slow_input_shows_workers_waiting_for_work(pool: corepool.Pool) -> None:
    assert len(list(pool.imap(tasks.square, slow_input(30, 0.01), chunksize=1))) == 30
    report = pool.insights()
    waiting = sum(worker.waiting_seconds for worker in report.workers)
    busy = sum(worker.busy_seconds for worker in report.workers)
    assert waiting > busy
    assert any("waited for work" in advice for advice in report.suggestions)


def test_an_executor_has_insights_too(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    executor.submit(tasks.square, 3).result(timeout=30)
    assert executor.insights().tasks == 1


def worker(**times: float) -> WorkerInsight:
    values = {"busy": 1.0, "waiting": 0.0, "io": 0.0, "transit": 0.0, "cpu": 1.0}
    values.update(times)
    return WorkerInsight(
        0,
        100,
        100,
        values["busy"],
        values["waiting"],
        values["io"],
        values["transit"],
        values["cpu"],
    )


def test_nothing_is_suggested_when_nothing_stands_out() -> None:
    assert suggest("processes", (worker(), worker()), explicit_chunksize=False) == ()
