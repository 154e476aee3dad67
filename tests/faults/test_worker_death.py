"""A worker that dies never hangs the pool: its task fails alone (or is retried); others finish."""

from __future__ import annotations

import functools
import os
import random
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import corepool
from support import faults, tasks
from support.waiting import wait_until


@pytest.fixture
def pool() -> Iterator[corepool.Pool]:
    with corepool.Pool(2) as started:
        yield started


def test_sigkill_from_outside_fails_only_that_task(pool: corepool.Pool, manager: Any) -> None:
    pids, gate = manager.Queue(), manager.Event()
    before = pool.map(tasks.square, range(10))
    doomed = pool.apply_async(tasks.report_pid_then_wait, (pids, gate))
    pid = pids.get(timeout=30)
    others = [pool.apply_async(tasks.square, (i,)) for i in range(20)]
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(corepool.WorkerLostError) as caught:
        doomed.get(timeout=30)
    error = caught.value
    assert error.pid == pid
    assert error.signal_name == "SIGKILL"
    assert "report_pid_then_wait" in error.task
    assert before == [x * x for x in range(10)]
    assert [r.get(timeout=30) for r in others] == [i * i for i in range(20)]
    stats = pool.statistics()
    assert stats.workers_replaced == 1
    assert pid not in {w.pid for w in stats.workers}
    assert pool.apply(tasks.square, (5,)) == 25


def test_death_is_noticed_at_once(pool: corepool.Pool) -> None:
    # Not a timing assertion: the error arrives long before the task's own sleep would end.
    result = pool.apply_async(faults.crash_on, (1, 1))
    with pytest.raises(corepool.WorkerLostError):
        result.get(timeout=5)


@pytest.mark.parametrize("kind", ["crash", "exit"])
def test_map_raises_the_lost_item_where_it_is_reached(pool: corepool.Pool, kind: str) -> None:
    results = pool.imap(functools.partial(faults.crash_on, bad=13, kind=kind), range(20), 10)
    values = []
    with pytest.raises(corepool.WorkerLostError) as caught:
        for value in results:
            values.append(value)
    assert values == [x * x for x in range(13)]
    assert "item 13 of imap(partial(crash_on))" in caught.value.task
    # The chunk-mates after the lost item still complete.
    assert list(results) == [x * x for x in range(14, 20)]


def test_chunk_mates_survive_a_crash(pool: corepool.Pool) -> None:
    args = [(x, 13) for x in range(40)]
    outcome = pool.starmap_async(faults.crash_on, args, chunksize=40)
    with pytest.raises(corepool.WorkerLostError):
        outcome.get(timeout=30)
    results = pool.imap(_crash_on_13, range(40), chunksize=40)
    collected: list[object] = []
    for _ in range(40):
        try:
            collected.append(next(results))
        except corepool.WorkerLostError as error:
            collected.append(error)
    assert [type(v).__name__ for v in collected].count("WorkerLostError") == 1
    assert isinstance(collected[13], corepool.WorkerLostError)
    assert [v for i, v in enumerate(collected) if i != 13] == [x * x for x in range(40) if x != 13]


@pytest.mark.parametrize("kind", ["crash", "exit"])
def test_chunks_queued_behind_a_lost_worker_run_again(pool: corepool.Pool, kind: str) -> None:
    # Chunks of 10 tiny items: once the first have run, workers hold the next ones queued
    # behind the one they run (_engine/queueing.py).  The worker that dies loses its queue too.
    count, bad = 4000, 2505
    results = pool.imap(functools.partial(faults.crash_on, bad=bad, kind=kind), range(count), 10)
    collected: list[object] = []
    for _ in range(count):
        try:
            collected.append(next(results))
        except corepool.WorkerLostError as error:
            collected.append(error)
    assert isinstance(collected[bad], corepool.WorkerLostError)
    assert [v for i, v in enumerate(collected) if i != bad] == [
        x * x for x in range(count) if x != bad
    ]


def _crash_on_13(x: int) -> int:
    return faults.crash_on(x, 13)


def test_retries_run_a_lost_task_again(tmp_path: Path) -> None:
    marker = str(tmp_path / "crashed-once")
    with corepool.Pool(1, retries=1) as pool:
        assert pool.apply(faults.crash_once, (marker, 42)) == 42
        assert Path(marker).exists()


def test_retries_give_up_with_a_clear_error() -> None:
    with corepool.Pool(1) as pool:
        with pytest.raises(corepool.WorkerLostError) as caught:
            pool.apply(faults.crash_on, (1, 1), retries=2)
        assert "tried 3 times" in str(caught.value)
        assert pool.statistics().workers_replaced == 3


def test_retries_default_to_zero(tmp_path: Path) -> None:
    marker = str(tmp_path / "crashed-once")
    with corepool.Pool(1) as pool:
        with pytest.raises(corepool.WorkerLostError):
            pool.apply(faults.crash_once, (marker, 1))
        # Run exactly once: the task is not idempotent as far as corepool knows.
        assert pool.apply(faults.crash_once, (marker, 2)) == 2


@pytest.mark.timeout(120)
def test_random_sigkills_during_a_large_map_lose_nothing() -> None:
    count = 10_000
    kills = 0
    stop = threading.Event()
    with corepool.Pool(2, retries=10) as pool:

        def killer() -> None:
            nonlocal kills
            rng = random.Random(7)
            while not stop.wait(rng.uniform(0.05, 0.15)):
                busy = [w.pid for w in pool.statistics().workers if w.state == "busy" and w.pid]
                if busy:
                    try:
                        os.kill(rng.choice(busy), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass

        thread = threading.Thread(target=killer)
        thread.start()
        try:
            results = pool.map(faults.busy, range(count))
        finally:
            stop.set()
            thread.join()
    assert results == list(range(count))
    assert kills >= 3, f"only {kills} kills happened; the test proves little"


def test_executor_survives_a_crash() -> None:
    with corepool.ProcessPoolExecutor(2) as executor:
        doomed = executor.submit(faults.crash_on, 1, 1)
        fine = [executor.submit(tasks.square, i) for i in range(10)]
        with pytest.raises(corepool.WorkerLostError):
            doomed.result(timeout=30)
        assert [f.result(timeout=30) for f in fine] == [i * i for i in range(10)]
        assert executor.submit(tasks.square, 3).result(timeout=30) == 9


def test_worker_that_dies_while_idle_is_replaced(pool: corepool.Pool) -> None:
    pool.map(tasks.square, range(4))
    wait_until(lambda: all(w.state == "idle" for w in pool.statistics().workers))
    victim = pool.statistics().workers[0].pid
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: pool.statistics().workers_replaced == 1, what="the replacement")
    assert pool.map(tasks.square, range(10)) == [x * x for x in range(10)]


def test_initializer_failure_is_reported_not_respawned() -> None:
    with corepool.Pool(2, initializer=faults.raise_in_initializer) as pool:
        with pytest.raises(corepool.InitializerError) as caught:
            pool.apply(tasks.square, (2,))
        assert isinstance(caught.value.__cause__, faults.InjectedError)
        with pytest.raises(corepool.InitializerError):
            pool.map(tasks.square, range(3))
        assert pool.statistics().workers_replaced == 0


def test_workers_that_cannot_start_give_a_clear_error() -> None:
    with corepool.Pool(1, initializer=faults.exit_in_initializer) as pool:
        with pytest.raises(corepool.WorkerStartError, match="exiting while they start"):
            pool.apply(tasks.square, (2,))
        assert pool.statistics().workers_replaced <= corepool.Settings().max_start_failures


def test_threads_initializer_failure() -> None:
    with (
        corepool.ThreadPool(2, initializer=faults.raise_in_initializer) as pool,
        pytest.raises(corepool.InitializerError),
    ):
        pool.apply(tasks.square, (2,))


def test_a_bug_in_the_dispatcher_fails_tasks_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from corepool._engine.dispatcher import Dispatcher

    def broken(self: Dispatcher, worker: object, event: object) -> None:
        raise RuntimeError("simulated dispatcher bug")

    monkeypatch.setattr(Dispatcher, "chunk_finished", broken)
    pool = corepool.Pool(1)
    try:
        with pytest.raises(corepool.CorepoolError, match="internal error"):
            pool.apply(tasks.square, (3,))
    finally:
        pool.terminate()
        pool.join()
    assert any("simulated dispatcher bug" in str(r.exc_info) for r in caplog.records)
