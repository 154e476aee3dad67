"""Every method of the multiprocessing.Pool front door, on every backend."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable

import pytest

import corepool
from support import tasks


def test_apply_returns_the_result(pool: corepool.Pool) -> None:
    assert pool.apply(tasks.add, (2, 3)) == 5
    assert pool.apply(tasks.echo, (1,), {"k": "v"}) == ((1,), {"k": "v"})


def test_apply_async_result_protocol(pool: corepool.Pool) -> None:
    result = pool.apply_async(tasks.square, (7,))
    assert result.get(timeout=30) == 49
    assert result.ready()
    assert result.successful()
    result.wait()  # returns at once when ready


def test_successful_before_ready_raises_value_error(pool: corepool.Pool, gate: object) -> None:
    result = pool.apply_async(tasks.wait_for, (gate,))
    assert not result.ready()
    with pytest.raises(ValueError, match="not ready"):
        result.successful()
    with pytest.raises(multiprocessing.TimeoutError):
        result.get(timeout=0.05)
    gate.set()  # type: ignore[attr-defined]
    assert result.get(timeout=30) is None


def test_map_keeps_order(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, range(1000)) == [x * x for x in range(1000)]


def test_map_over_a_generator(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, (x for x in range(500))) == [x * x for x in range(500)]


def test_map_of_empty_input(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, []) == []
    assert list(pool.imap(tasks.square, iter(()))) == []


def test_map_async_and_its_callback(pool: corepool.Pool) -> None:
    seen: list[list[int]] = []
    result = pool.map_async(tasks.square, range(10), callback=seen.append)
    assert result.get(timeout=30) == [x * x for x in range(10)]
    assert seen == [[x * x for x in range(10)]]


def test_starmap_and_starmap_async(pool: corepool.Pool) -> None:
    pairs = [(i, i + 1) for i in range(50)]
    assert pool.starmap(tasks.add, pairs) == [a + b for a, b in pairs]
    assert pool.starmap_async(tasks.add, pairs).get(timeout=30) == [a + b for a, b in pairs]


def test_imap_in_order_and_unordered(pool: corepool.Pool) -> None:
    assert list(pool.imap(tasks.square, range(300))) == [x * x for x in range(300)]
    assert sorted(pool.imap_unordered(tasks.square, range(300))) == [x * x for x in range(300)]


def test_imap_next_with_timeout(pool: corepool.Pool, gate: object) -> None:
    iterator = pool.imap(tasks.wait_for, [gate])
    with pytest.raises(multiprocessing.TimeoutError):
        iterator.next(timeout=0.05)
    gate.set()  # type: ignore[attr-defined]
    assert iterator.next(timeout=30) is None
    with pytest.raises(StopIteration):
        next(iterator)


def test_explicit_chunksize_is_accepted(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, range(100), chunksize=7) == [x * x for x in range(100)]
    assert list(pool.imap(tasks.square, range(100), 3)) == [x * x for x in range(100)]


@pytest.mark.parametrize("chunksize", [0, -1])
def test_bad_chunksize_is_refused(pool: corepool.Pool, chunksize: int) -> None:
    with pytest.raises(ValueError, match="chunksize"):
        pool.map(tasks.square, range(3), chunksize=chunksize)


def test_not_callable_and_not_iterable(pool: corepool.Pool) -> None:
    with pytest.raises(TypeError, match="callable"):
        pool.apply_async(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable"):
        pool.map(tasks.square, 42)  # type: ignore[arg-type]


def test_close_then_join_finishes_submitted_work(make_pool: Callable[..., corepool.Pool]) -> None:
    pool = make_pool()
    results = [pool.apply_async(tasks.sleep_then, (0.01, i)) for i in range(20)]
    pool.close()
    pool.join()
    assert [result.get(timeout=0) for result in results] == list(range(20))


def test_closed_pool_refuses_work(make_pool: Callable[..., corepool.Pool]) -> None:
    pool = make_pool()
    pool.close()
    with pytest.raises(ValueError, match="Pool not running"):
        pool.apply_async(tasks.square, (1,))
    with pytest.raises(ValueError, match="Pool not running"):
        pool.map(tasks.square, [1])
    pool.join()


def test_join_before_close_is_an_error(pool: corepool.Pool) -> None:
    with pytest.raises(ValueError, match="still running"):
        pool.join()


def test_terminate_fails_outstanding_results(
    make_pool: Callable[..., corepool.Pool], gate: object
) -> None:
    pool = make_pool(1)
    blocked = pool.apply_async(tasks.wait_for, (gate,))
    queued = pool.apply_async(tasks.square, (3,))
    pool.terminate()
    pool.join()
    with pytest.raises(corepool.TaskCancelledError):
        queued.get(timeout=30)
    if pool.statistics().backend == "processes":
        with pytest.raises(corepool.TaskCancelledError):
            blocked.get(timeout=30)
    gate.set()  # type: ignore[attr-defined]


def test_context_manager_terminates(make_pool: Callable[..., corepool.Pool]) -> None:
    with make_pool() as pool:
        assert pool.apply(tasks.square, (4,)) == 16
    with pytest.raises(ValueError):
        pool.apply(tasks.square, (4,))


def test_pool_size_validation(backend: str) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        corepool.Pool(0, backend=backend)
    with pytest.raises(ValueError, match="backend"):
        corepool.Pool(1, backend="fibers")


def test_thread_pool_is_the_threads_backend() -> None:
    with corepool.ThreadPool(3) as pool:
        pids = {pid for pid, _ in pool.map(tasks.where_am_i, range(30))}
        assert pids == {os.getpid()}
        assert pool.statistics().backend == "threads"
        assert len(pool.statistics().workers) == 3


def test_processes_run_elsewhere() -> None:
    with corepool.Pool(2) as pool:
        pids = {pid for pid, _ in pool.map(tasks.where_am_i, range(30), chunksize=1)}
        assert os.getpid() not in pids


def test_lambdas_and_closures(pool: corepool.Pool) -> None:
    offset = 10

    def shifted(x: int) -> int:
        return x + offset

    assert pool.map(lambda x: x * 3, range(5)) == [0, 3, 6, 9, 12]
    assert pool.apply(shifted, (1,)) == 11
    assert list(pool.imap(shifted, range(3))) == [10, 11, 12]


def test_a_pool_left_running_warns_as_the_standard_library_does(backend: str) -> None:
    import gc
    import warnings

    pool = corepool.Pool(1, backend=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del pool
        gc.collect()
    assert any(
        issubclass(w.category, ResourceWarning)
        and "unclosed running multiprocessing pool" in str(w.message)
        for w in caught
    )
