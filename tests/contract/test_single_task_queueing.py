"""Short single tasks wait in a busy worker, as short chunks of a map do (``_engine/queueing``).

A loop of ``apply_async`` or ``submit`` of a function the pool has seen take less than
``worker_queue_seconds`` hands the next tasks to busy workers ahead of time, so that a worker
starts each as the last ends.  From then on a task counts as running, as the items
``concurrent.futures`` has moved to its call queue do: ``Future.cancel()`` returns False, and
``pool.cancel()`` / ``executor.cancel()`` stop the worker that holds it (a worker thread gives it
back instead), so a cancelled task never runs on.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing.managers
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool
from support import tasks
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(120)


def _event(backend: str, manager: multiprocessing.managers.SyncManager) -> Any:
    """An event the backend's workers can wait on."""
    return threading.Event() if backend == "threads" else manager.Event()


@pytest.fixture
def never(backend: str, manager: multiprocessing.managers.SyncManager) -> Any:
    """An event nobody sets: a task that waits on it would hold its worker (up to 30 s)."""
    return _event(backend, manager)


@pytest.fixture
def taught(backend: str, manager: multiprocessing.managers.SyncManager) -> Callable[..., None]:
    """Runs ``held_by`` through a pool's ``run(fn, *args)`` enough times, its gate open, for the
    pool to estimate it short: later tasks of it may wait behind a busy worker."""
    opened = _event(backend, manager)
    opened.set()

    def teach(run: Callable[..., Any]) -> None:
        for _ in range(12):
            run(tasks.held_by, opened)

    return teach


@pytest.fixture
def quick_pool(make_pool: Callable[..., corepool.Pool], taught: Callable[..., None]) -> Any:
    pool = make_pool(1)
    taught(lambda fn, *args: pool.apply(fn, args))
    return pool


@pytest.fixture
def quick_executor(backend: str, taught: Callable[..., None]) -> Iterator[Any]:
    kind = corepool.ThreadPoolExecutor if backend == "threads" else corepool.ProcessPoolExecutor
    with kind(1) as executor:
        taught(lambda fn, *args: executor.submit(fn, *args).result(30))
        yield executor


def _queued_in_worker(statistics: Callable[[], Any], held: int) -> Callable[[], bool]:
    def check() -> bool:
        now = statistics()
        return bool(now.tasks_queued == 0 and now.tasks_in_flight == held)

    return check


def test_a_cancelled_task_queued_in_a_busy_worker_never_runs_on(
    quick_pool: corepool.Pool, gate: Any, never: Any
) -> None:
    pool = quick_pool
    blocker = pool.apply_async(tasks.held_by, (gate, "blocker"))
    victim = pool.apply_async(tasks.held_by, (never, "victim"))
    wait_until(_queued_in_worker(pool.statistics, 2), what="the victim queued in the worker")
    pool.cancel(victim)
    gate.set()
    assert blocker.get(timeout=30) == "blocker"
    with pytest.raises(corepool.TaskCancelledError):
        victim.get(timeout=30)
    # The worker did not go on waiting for ``never``: it was stopped (or, a thread, gave the
    # task back) and the pool runs the next task at once.
    assert pool.apply_async(tasks.square, (3,)).get(timeout=10) == 9


def test_a_queued_future_counts_as_running(quick_executor: Any, gate: Any) -> None:
    blocker = quick_executor.submit(tasks.held_by, gate, "blocker")
    queued = quick_executor.submit(tasks.held_by, gate, "queued")
    wait_until(_queued_in_worker(quick_executor.statistics, 2), what="the second one queued")
    assert queued.running()
    assert not queued.cancel()
    gate.set()
    assert (blocker.result(30), queued.result(30)) == ("blocker", "queued")


def test_an_executor_cancel_stops_a_queued_task(quick_executor: Any, gate: Any, never: Any) -> None:
    blocker = quick_executor.submit(tasks.held_by, gate, "blocker")
    victim = quick_executor.submit(tasks.held_by, never, "victim")
    wait_until(_queued_in_worker(quick_executor.statistics, 2), what="the victim queued")
    assert quick_executor.cancel(victim)
    gate.set()
    assert blocker.result(30) == "blocker"
    with pytest.raises(concurrent.futures.CancelledError):
        victim.result(30)
    assert quick_executor.submit(tasks.square, 4).result(10) == 16


def test_nothing_more_waits_behind_a_task_running_far_past_its_estimate(
    quick_pool: corepool.Pool, gate: Any
) -> None:
    pool = quick_pool
    blocker = pool.apply_async(tasks.held_by, (gate, "blocker"))
    wait_until(lambda: pool.statistics().tasks_in_flight == 1, what="the blocker to start")
    time.sleep(0.1)  # a task estimated at a millisecond or so, still running
    later = pool.apply_async(tasks.held_by, (gate, "later"))
    statistics = pool.statistics()  # after the submission: both go through the loop thread
    assert (statistics.tasks_queued, statistics.tasks_in_flight) == (1, 1)
    gate.set()
    assert (blocker.get(30), later.get(30)) == ("blocker", "later")


def test_a_task_with_a_timeout_never_waits_in_a_busy_worker(
    quick_pool: corepool.Pool, gate: Any
) -> None:
    pool = quick_pool
    blocker = pool.apply_async(tasks.held_by, (gate, "blocker"))
    timed = pool.apply_async(tasks.held_by, (gate, "timed"), timeout=60)
    wait_until(lambda: pool.statistics().tasks_in_flight == 1, what="the blocker to start")
    assert pool.statistics().tasks_queued == 1  # pending in the parent, not in the worker
    gate.set()
    assert (blocker.get(30), timed.get(30)) == ("blocker", "timed")
