"""Automatic chunking: tiny tasks travel in chunks, long tasks one by one; explicit sizes win."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import corepool
from support import tasks
from support.waiting import wait_until


def test_tiny_tasks_travel_in_few_chunks(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, range(50_000)) == [x * x for x in range(50_000)]
    stats = pool.statistics()
    assert stats.tasks_done == 50_000
    # One message per item would be 50,000 chunks; sized chunks need a few dozen.
    assert stats.chunks_done < 500


def test_long_tasks_are_not_grouped(pool: corepool.Pool) -> None:
    pool.map(tasks.sleep_then, [0.03] * 12)
    stats = pool.statistics()
    assert stats.tasks_done == 12
    assert stats.chunks_done == 12


def test_explicit_chunksize_is_honoured(pool: corepool.Pool) -> None:
    pool.map(tasks.square, range(100), chunksize=10)
    assert pool.statistics().chunks_done == 10


def test_imap_of_tiny_tasks_is_chunked_too(pool: corepool.Pool) -> None:
    assert sum(pool.imap(tasks.square, iter(range(20_000)))) == sum(x * x for x in range(20_000))
    assert pool.statistics().chunks_done < 500


def test_work_spreads_over_all_workers(make_pool: Callable[..., corepool.Pool]) -> None:
    pool = make_pool(2)
    # A worker still starting gets no chunk (a ready one takes the work instead), so on a slow
    # machine one worker could finish a quick map alone; this test is about chunk sizes.
    wait_until(
        lambda: all(worker.state != "starting" for worker in pool.statistics().workers),
        what="both workers started",
    )
    pool.map(tasks.square, range(10_000))
    stats = pool.statistics()
    # Chunks are capped at len / (workers * 4), so both workers get some.
    assert all(worker.tasks_done > 0 for worker in stats.workers)


def _chunks(pool_or_executor: Any) -> tuple[int, int]:
    insights = pool_or_executor.insights()
    return insights.tasks, sum(worker.chunks for worker in insights.workers)


@pytest.mark.parametrize("method", ["imap", "imap_unordered", "map", "starmap"])
def test_explicit_chunks_are_exactly_that_size(pool: corepool.Pool, method: str) -> None:
    # 1,000 items from a generator in chunks of 7: 142 of 7 and a last one of 6, whatever
    # queueing, window or automatic sizing do around them.
    items = (x for x in range(1000))
    if method == "starmap":
        results = list(pool.starmap(tasks.add, ((x, 0) for x in items), chunksize=7))
    else:
        results = list(getattr(pool, method)(tasks.square, items, chunksize=7))
    expected = list(range(1000)) if method == "starmap" else [x * x for x in range(1000)]
    assert sorted(results) == expected
    assert _chunks(pool) == (1000, 143)
    assert pool.insights().explicit_chunksize


def test_executor_map_chunks_are_exactly_that_size(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    results = executor.map(tasks.square, (x for x in range(1000)), chunksize=7, buffersize=3)
    assert list(results) == [x * x for x in range(1000)]
    assert _chunks(executor) == (1000, 143)
