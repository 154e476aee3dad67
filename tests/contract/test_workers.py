"""Worker identity and state, statistics(), nested pools, native thread caps, recycling."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

import corepool
from support import tasks


def test_initializer_sets_state_that_tasks_read(make_pool: Callable[..., corepool.Pool]) -> None:
    pool = make_pool(2, initializer=tasks.set_state, initargs=("greeting", "hello"))
    assert set(pool.map(tasks.read_state, ["greeting"] * 20, chunksize=1)) == {"hello"}


def test_state_is_per_worker_and_persists(make_pool: Callable[..., corepool.Pool]) -> None:
    pool = make_pool(1)
    assert [pool.apply(tasks.count_calls) for _ in range(4)] == [1, 2, 3, 4]


def test_current_worker(make_pool: Callable[..., corepool.Pool], backend: str) -> None:
    pool = make_pool(3)
    seen = pool.map(tasks.worker_identity, range(60), chunksize=1)
    for index, pid, name, kind in seen:
        assert 0 <= index < 3
        assert name == f"corepool-worker-{index}"
        assert kind == backend
        assert (pid == os.getpid()) == (backend == "threads")
    assert corepool.current_worker() is None


def test_worker_state_outside_a_worker_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="only available inside a corepool worker"):
        corepool.worker_state()


def test_statistics_snapshot(
    make_pool: Callable[..., corepool.Pool], backend: str, gate: Any, started: Any
) -> None:
    pool = make_pool(2)
    pool.map(tasks.square, range(10), chunksize=1)
    blocker = pool.apply_async(tasks.signal_then_wait, (started, gate))
    assert started.wait(30)
    stats = pool.statistics()
    assert stats.backend == backend
    assert len(stats.workers) == 2
    assert [w.index for w in stats.workers] == [0, 1]
    assert stats.tasks_in_flight == 1
    assert stats.busy_workers == 1
    assert stats.tasks_done == 10
    assert sum(w.tasks_done for w in stats.workers) == 10
    for worker in stats.workers:
        assert (worker.pid is None) == (backend == "threads")
    with pytest.raises(AttributeError):
        stats.tasks_done = 0  # type: ignore[misc]  # frozen
    gate.set()
    blocker.get(timeout=30)


def test_a_task_can_use_a_pool_of_its_own(pool: corepool.Pool) -> None:
    assert pool.apply(tasks.nested_pool_sum, (10,)) == sum(x * x for x in range(10))


def test_native_threads_are_capped_in_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    with corepool.Pool(2) as pool:
        assert pool.apply(tasks.native_thread_limit) == str(max(1, cores // 2))
    with corepool.Pool(2, native_threads=None) as pool:
        assert pool.apply(tasks.native_thread_limit) is None
    with corepool.Pool(1, native_threads=3) as pool:
        assert pool.apply(tasks.native_thread_limit) == "3"


def test_maxtasksperchild_recycles_workers() -> None:
    with corepool.Pool(1, maxtasksperchild=2) as pool:
        pids = [pool.apply(tasks.where_am_i)[0] for _ in range(6)]
        assert len(set(pids)) == 3
        assert pool.statistics().workers_replaced >= 2


def test_executor_max_tasks_per_child() -> None:
    with corepool.ProcessPoolExecutor(1, max_tasks_per_child=1) as executor:
        pids = {executor.submit(tasks.where_am_i).result(timeout=30)[0] for _ in range(3)}
    assert len(pids) == 3
