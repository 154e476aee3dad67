"""What Dask cannot do, and what happens when its workers die.

A running Dask task cannot be stopped: a timeout or a cancel fails the call on time and abandons
the task (it may run on).  A Dask worker killed mid-task is Dask's business (the scheduler
reschedules the task); a task that kills workers until Dask gives up (``KilledWorker``) is the
engine's: retried up to ``retries``, then ``WorkerLostError`` naming ``KilledWorker``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs: pip install 'corepool[dask]'")

import dask_tasks as tasks

import corepool


def test_a_timeout_fails_on_time_and_says_the_task_may_run_on(pool: corepool.Pool) -> None:
    started = time.monotonic()
    with pytest.raises(corepool.TaskTimeoutError) as caught:
        pool.apply(tasks.nap, (1, 1.5), timeout=0.3)
    assert time.monotonic() - started < 1.4
    assert "may run on" in "".join(getattr(caught.value, "__notes__", []))
    assert pool.apply(tasks.square, (3,)) == 9  # a fresh slot took the abandoned one's place


def test_cancel_of_a_running_task(pool: corepool.Pool) -> None:
    result = pool.apply_async(tasks.nap, (1, 1.0))
    pool.cancel(result)
    with pytest.raises(corepool.TaskCancelledError):
        result.get(timeout=5)


def test_a_worker_killed_mid_map_loses_no_result(pool: corepool.Pool, client: Any) -> None:
    results = pool.imap(tasks.nap, range(300), chunksize=5)
    seen = [next(results) for _ in range(50)]
    os.kill(next(iter(tasks.worker_pids(client).values())), signal.SIGKILL)
    seen.extend(results)
    assert seen == list(range(300))  # every result exactly once, in order


# Each kill below waits for Dask's nanny to start a new worker process (~2 s here, far longer on
# a loaded machine): four kills can need more than the suite's 60 s.
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_task_that_kills_its_workers_fails_alone_naming_killed_worker(
    killable_pool: corepool.Pool,
) -> None:
    pool = killable_pool
    # Chunks of 4: the first chunk's Dask task fails with KilledWorker; its items run again
    # one per chunk, so that the innocent ones succeed and only item 2 fails.
    results = pool.imap(_kills_on_2, range(8), chunksize=4)
    outcomes: list[Any] = []
    while len(outcomes) < 8:
        try:
            outcomes.append(next(results))
        except corepool.WorkerLostError as error:
            outcomes.append(error)
    lost = outcomes.pop(2)
    assert outcomes == [0, 1, 3, 4, 5, 6, 7]
    assert isinstance(lost, corepool.WorkerLostError)
    assert "KilledWorker" in str(lost)
    assert "item 2" in str(lost)


def _kills_on_2(x: int) -> int:
    if x == 2:
        tasks.kills_its_worker(x)
    return x


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_retries_run_a_task_again_after_killed_worker(
    killable_pool: corepool.Pool, tmp_path: Path
) -> None:
    pool = killable_pool
    # It kills two workers (Dask reschedules once, then gives up): corepool's retry runs it.
    marker = str(tmp_path / "attempts")
    assert pool.apply(tasks.kills_its_worker_until, (marker, 2), retries=1) == "survived"


def test_shared_objects_need_a_worker_on_the_same_host(make_pool: Callable[..., Any]) -> None:
    pool = make_pool()
    lock = corepool.Lock()
    assert pool.apply(tasks.use_lock, (lock,)) is True  # LocalCluster: the same host
    pool._engine.backend.host = "another-host/0"  # as if the Dask workers ran elsewhere
    with pytest.raises(RuntimeError, match="shared memory of the host"):
        pool.apply(tasks.use_lock, (lock,))


def test_a_large_array_is_sent_once_per_job(
    make_pool: Callable[..., Any], client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    numpy = pytest.importorskip("numpy")
    scattered: list[Any] = []
    scatter = client.scatter

    def counting(data: Any, **kwargs: Any) -> Any:
        scattered.append(data)
        return scatter(data, **kwargs)

    monkeypatch.setattr(client, "scatter", counting)
    big = numpy.ones(1 << 18)  # 2 MiB
    pool = make_pool()
    expected = [float(big.sum()) + index for index in range(20)]
    assert pool.starmap(tasks.total, [(big, index) for index in range(20)], chunksize=2) == expected
    assert len(scattered) == 1
