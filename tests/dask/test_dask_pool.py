"""The Pool API on a Dask cluster: the contract behaviours that apply to backend="dask"."""

from __future__ import annotations

import itertools
import multiprocessing.pool
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs: pip install 'corepool[dask]'")

import dask_tasks as tasks

import corepool


def test_map_starmap_and_apply(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, range(1000)) == [x * x for x in range(1000)]
    assert pool.starmap(tasks.add, [(1, 2), (3, 4)]) == [3, 7]
    assert pool.apply(tasks.add, (2, 3)) == 5


def test_the_pool_is_as_large_as_the_cluster(pool: corepool.Pool) -> None:
    assert pool._processes == 2
    assert "dask" in repr(pool)


def test_callbacks_run_in_the_parent(pool: corepool.Pool) -> None:
    seen: list[Any] = []
    done = threading.Event()

    def callback(value: Any) -> None:
        seen.append((value, threading.current_thread().name))
        if len(seen) == 2:
            done.set()

    pool.apply_async(tasks.square, (4,), callback=callback)
    pool.map_async(tasks.square, [1, 2], callback=callback)
    assert done.wait(30)
    assert sorted(value for value, _ in seen[:2] if isinstance(value, int)) == [16]
    errors: list[BaseException] = []
    failed = pool.apply_async(tasks.fails_on, (3,), error_callback=errors.append)
    failed.wait(30)
    assert isinstance(errors[0], ValueError)


def test_imap_and_imap_unordered(pool: corepool.Pool) -> None:
    assert list(pool.imap(tasks.square, range(200))) == [x * x for x in range(200)]
    assert sorted(pool.imap_unordered(tasks.square, range(200), chunksize=7)) == sorted(
        x * x for x in range(200)
    )


def test_imap_over_an_endless_generator_closed_early(pool: corepool.Pool, client: Any) -> None:
    read = itertools.count()
    results = pool.imap(tasks.square, (next(read) for _ in itertools.repeat(None)))
    assert [next(results) for _ in range(50)] == [x * x for x in range(50)]
    results.close()
    stopped_at = next(read)
    # Reading stopped at the window: 4 chunks per slot and 1 sent ahead, of at most 16,384 items.
    assert stopped_at <= (4 + 1) * 2 * 16_384 + 50
    # What was in flight ends (a running chunk runs to its end; nothing new is submitted).
    client.sync(_wait_until_idle, client)
    assert next(read) == stopped_at + 1


async def _wait_until_idle(client: Any) -> None:
    import asyncio

    for _ in range(3000):
        processing = await client.scheduler.processing()
        if not any(processing.values()):
            return
        await asyncio.sleep(0.01)  # polling the scheduler's state, which has no wait call
    raise AssertionError("the cluster is still running tasks of a closed imap")


def test_errors_keep_their_type_and_the_remote_traceback(pool: corepool.Pool) -> None:
    with pytest.raises(ValueError, match="bad item 3") as caught:
        pool.map(tasks.fails_on, range(10))
    cause = caught.value.__cause__
    assert isinstance(cause, multiprocessing.pool.RemoteTraceback)
    assert "fails_on" in str(cause)
    results = pool.imap(tasks.fails_on, range(5))
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError):
        next(results)
    assert next(results) == 4


def test_lambdas_and_closures(pool: corepool.Pool) -> None:
    offset = 10
    assert pool.map(lambda x: x + offset, range(5)) == [10, 11, 12, 13, 14]

    def scaled(x: int) -> int:
        return x * offset

    assert pool.apply(scaled, (3,)) == 30


def test_user_keywords_never_reach_dask(pool: corepool.Pool) -> None:
    kwargs = {"key": "k", "retries": 9, "priority": -5, "workers": ["nowhere"], "pure": True}
    assert pool.apply(tasks.keywords, (1,), kwargs) == (1, kwargs)


def test_identical_calls_all_run(pool: corepool.Pool) -> None:
    values = pool.map(tasks.rnd, [1] * 20, chunksize=1)
    assert len(set(values)) == 20  # Dask's pure=True would have run it once


def test_statistics_list_the_cluster_workers(pool: corepool.Pool, client: Any) -> None:
    pool.map(tasks.nap, range(8), chunksize=1)
    stats = pool.statistics()
    assert stats.backend == "dask"
    assert len(stats.workers) == 2
    named = {worker.name.split(" on ")[-1] for worker in stats.workers}
    assert named <= set(client.scheduler_info()["workers"])
    assert stats.tasks_done == 8


def test_automatic_chunking_batches_tiny_tasks(pool: corepool.Pool) -> None:
    pool.map(tasks.square, range(20_000))
    stats = pool.statistics()
    assert stats.chunks_done < 200, stats  # ~100 items or more per Dask task


def test_an_initializer_runs_on_every_dask_worker(make_pool: Callable[..., Any]) -> None:
    pool = make_pool(initializer=tasks.square, initargs=(3,))
    assert pool.map(tasks.square, range(10)) == [x * x for x in range(10)]


def test_a_failing_initializer_breaks_the_pool(make_pool: Callable[..., Any]) -> None:
    pool = make_pool(initializer=tasks.fails_on, initargs=(3,))
    with pytest.raises(corepool.InitializerError):
        pool.apply(tasks.square, (2,))


def test_address_connects_and_owns_its_client(cluster: Any) -> None:
    with corepool.Pool(backend="dask", address=cluster.scheduler_address) as pool:
        assert pool.map(tasks.square, range(5)) == [0, 1, 4, 9, 16]


def test_without_a_cluster_the_error_says_how_to_start_one() -> None:
    with pytest.raises(ValueError, match="dask scheduler"):
        corepool.Pool(backend="dask")
    with pytest.raises(ValueError, match="backend='dask'"):
        corepool.Pool(2, address="tcp://127.0.0.1:1")


def test_a_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'corepool\[dask\]'"):
        corepool.Pool(backend="dask", address="tcp://127.0.0.1:1")
