"""A task's exception comes home with its type and the worker's traceback; the pool lives on."""

from __future__ import annotations

import multiprocessing.pool

import pytest

import corepool
from support import tasks


def test_original_type_and_message(pool: corepool.Pool) -> None:
    with pytest.raises(ValueError, match="bad value 7"):
        pool.apply(tasks.raise_value_error, (7,))
    with pytest.raises(tasks.CustomError, match="custom failure"):
        pool.apply(tasks.raise_custom, ("x",))


def test_worker_traceback_is_the_cause(pool: corepool.Pool, backend: str) -> None:
    with pytest.raises(ValueError) as caught:
        pool.apply(tasks.raise_value_error, (1,))
    if backend == "processes":
        cause = caught.value.__cause__
        assert type(cause) is multiprocessing.pool.RemoteTraceback  # type: ignore[attr-defined]
        assert isinstance(cause, corepool.RemoteTraceback)
        assert "raise_value_error" in str(cause)
        assert "Traceback (most recent call last)" in str(cause)
    else:
        # Threads share the process: the exception keeps its real traceback.
        assert "raise_value_error" in str(caught.traceback[-1].name)


def test_map_raises_the_error_and_the_pool_stays_usable(pool: corepool.Pool) -> None:
    with pytest.raises(ValueError, match="item 3 is bad"):
        pool.map(tasks.fail_on, range(10))
    assert pool.map(tasks.square, range(10)) == [x * x for x in range(10)]


def test_imap_raises_at_the_failing_item_and_continues(pool: corepool.Pool) -> None:
    iterator = pool.imap(tasks.fail_on, range(6), chunksize=6)
    assert [next(iterator) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3 is bad"):
        next(iterator)
    assert list(iterator) == [4, 5]


def test_unpicklable_exception_keeps_its_facts(pool: corepool.Pool, backend: str) -> None:
    if backend == "threads":
        with pytest.raises(tasks.UnpicklableError):
            pool.apply(tasks.raise_unpicklable)
        return
    with pytest.raises(corepool.RemoteTaskError) as caught:
        pool.apply(tasks.raise_unpicklable)
    error = caught.value
    assert error.type_name.endswith("UnpicklableError")
    assert error.message == "cannot travel"
    assert "raise_unpicklable" in error.traceback_text
    assert pool.apply(tasks.square, (2,)) == 4


def test_exception_that_cannot_be_unpickled_in_the_parent(
    pool: corepool.Pool, backend: str
) -> None:
    if backend == "threads":
        with pytest.raises(tasks.NeedsTwoArgsError):
            pool.apply(tasks.raise_needs_two_args)
        return
    with pytest.raises(corepool.RemoteTaskError) as caught:
        pool.apply(tasks.raise_needs_two_args)
    assert "NeedsTwoArgsError" in caught.value.type_name
    assert "left/right" in caught.value.message
    assert "unpickling it in the parent failed" in caught.value.reason


def test_unpicklable_result_fails_only_its_task(pool: corepool.Pool, backend: str) -> None:
    results = pool.map_async(tasks.identity, [1, 2, 3], chunksize=3)
    assert results.get(timeout=30) == [1, 2, 3]
    if backend == "threads":
        assert pool.apply(tasks.return_unpicklable) is not None  # nothing is pickled
        return
    with pytest.raises(corepool.SerializationError, match="Error sending result") as caught:
        pool.apply(tasks.return_unpicklable)
    assert caught.value.stage == "pickling the result"
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, multiprocessing.pool.MaybeEncodingError)  # type: ignore[attr-defined]


def test_unpicklable_argument_fails_only_its_item(pool: corepool.Pool, backend: str) -> None:
    import threading

    items = [1, threading.Lock(), 3]
    iterator = pool.imap(tasks.identity, items, chunksize=3)
    assert next(iterator) == 1
    if backend == "processes":
        with pytest.raises(corepool.SerializationError, match="pickling the call"):
            next(iterator)
    else:
        next(iterator)
    assert next(iterator) == 3


def test_argument_that_cannot_be_unpickled_in_the_worker(pool: corepool.Pool, backend: str) -> None:
    items = [1, tasks.BrokenOnLoad(), 3]
    iterator = pool.imap(tasks.identity, items, chunksize=3)
    assert next(iterator) == 1
    if backend == "processes":
        with pytest.raises(corepool.SerializationError, match="unpickling the call") as caught:
            next(iterator)
        assert "refuses to be unpickled" in str(caught.value)
    else:
        assert isinstance(next(iterator), tasks.BrokenOnLoad)
    assert next(iterator) == 3


def test_result_that_cannot_be_unpickled_in_the_parent(pool: corepool.Pool, backend: str) -> None:
    if backend == "threads":
        assert isinstance(pool.apply(tasks.return_broken_on_load), tasks.BrokenOnLoad)
        return
    iterator = pool.imap(tasks.return_broken_on_load, range(2), chunksize=2)
    for _ in range(2):
        with pytest.raises(corepool.SerializationError, match="unpickling the result"):
            next(iterator)
    assert pool.apply(tasks.square, (3,)) == 9


def test_unpicklable_function_fails_the_call(pool: corepool.Pool, backend: str) -> None:
    import threading

    lock = threading.Lock()

    def uses_lock(x: int) -> int:
        with lock:
            return x

    if backend == "threads":
        assert pool.map(uses_lock, [1, 2]) == [1, 2]
        return
    with pytest.raises(corepool.SerializationError, match="pickling the call"):
        pool.map(uses_lock, [1, 2])
    with pytest.raises(corepool.SerializationError, match="pickling the call"):
        pool.apply(uses_lock, (1,))
    assert pool.apply(tasks.square, (3,)) == 9
