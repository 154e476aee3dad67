"""Uneven and long tasks through ``map`` with default chunking, on worker processes.

Long tasks that must run side by side are never batched or queued behind one another before their
times are measured, and chunks queued behind a running one are run again when their worker dies.
The order of events is forced with files (``support/uneven_tasks.py``), never with sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import corepool
from corepool.errors import WorkerLostError
from support import uneven_tasks


@pytest.fixture
def pool() -> Iterator[corepool.Pool]:
    pool = corepool.Pool(2)
    yield pool
    pool.terminate()
    pool.join()


@pytest.mark.timeout(60)
def test_two_long_tasks_among_short_ones_run_side_by_side(
    pool: corepool.Pool, tmp_path: Path
) -> None:
    # The tutorial's is_prime shape: instant, long, long, then instant ones.  Each long task
    # waits for the other to start: it gives up (False) if the pool put both on one worker.
    directory = str(tmp_path)
    items = [
        (directory, "short-0", ()),
        (directory, "long-a", ("long-b",)),
        (directory, "long-b", ("long-a",)),
        *[(directory, f"short-{index}", ()) for index in range(1, 4)],
    ]
    results = pool.map(uneven_tasks.wait_for_partners, items)
    assert [met for _, met in results] == [True] * len(items)
    assert results[1][0] != results[2][0], "both long tasks ran on one worker"


@pytest.mark.timeout(60)
def test_chunks_queued_at_a_worker_that_dies_run_again(pool: corepool.Pool, tmp_path: Path) -> None:
    # 3 ms tasks: measured as short after the first few, so busy workers get chunks queued
    # behind their running one (_engine/queueing.py); what the worker that dies holds runs
    # elsewhere.
    directory = str(tmp_path)
    items = [(directory, value, 40, 0.003) for value in range(120)]
    results = pool.map(uneven_tasks.nap_or_die_once, items, retries=1)
    assert results == list(range(120))
    assert Path(directory, "died").exists()
    assert pool.statistics().tasks_done >= 120


@pytest.mark.timeout(60)
def test_a_worker_death_without_retries_fails_the_map_and_the_pool_goes_on(
    pool: corepool.Pool, tmp_path: Path
) -> None:
    directory = str(tmp_path)
    items = [(directory, value, 40, 0.003) for value in range(120)]
    with pytest.raises(WorkerLostError):
        pool.map(uneven_tasks.nap_or_die_once, items)
    assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]


@pytest.mark.timeout(60)
def test_no_chunk_waits_for_a_worker_still_starting(tmp_path: Path) -> None:
    # One worker comes up at once, the other sits in its initializer for 30 s: every task of
    # the map runs on the first, none is handed to the second to wait for its start.
    pool = corepool.Pool(
        2, initializer=uneven_tasks.only_the_first_starts_fast, initargs=(str(tmp_path),)
    )
    try:
        pids = pool.map(uneven_tasks.pid_of, range(40), chunksize=1)
        assert len(set(pids)) == 1
    finally:
        pool.terminate()
        pool.join()
