"""A task's failure comes home with its original type and the subinterpreter's traceback; what a
subinterpreter cannot load fails the task, not the pool."""

from __future__ import annotations

import multiprocessing.pool
import threading

import interp_tasks
import pytest

import corepool
from support import tasks


def test_original_type_with_the_remote_traceback(pool: corepool.Pool) -> None:
    with pytest.raises(tasks.CustomError, match="custom failure") as caught:
        pool.apply(tasks.raise_custom, ("x",))
    cause = caught.value.__cause__
    assert type(cause) is multiprocessing.pool.RemoteTraceback  # type: ignore[attr-defined]
    assert "raise_custom" in str(cause)
    assert pool.map(tasks.square, range(4)) == [0, 1, 4, 9]


def test_map_fails_at_the_bad_item_and_the_pool_lives_on(pool: corepool.Pool) -> None:
    with pytest.raises(ValueError, match="item 3 is bad"):
        pool.map(tasks.fail_on, range(10))
    assert pool.map(tasks.square, range(10)) == [x * x for x in range(10)]


def test_an_argument_that_cannot_be_pickled_fails_alone(pool: corepool.Pool) -> None:
    results = pool.map_async(tasks.identity, [1, threading.Lock(), 3], chunksize=3)
    with pytest.raises(corepool.SerializationError):
        results.get(20)
    assert pool.map(tasks.identity, [1, 3]) == [1, 3]


def test_an_extension_that_refuses_subinterpreters_fails_the_task(pool: corepool.Pool) -> None:
    pytest.importorskip("numpy")
    with pytest.raises(ImportError, match="subinterpreters") as caught:
        pool.apply(interp_tasks.import_numpy)
    assert any("backend='processes'" in note for note in caught.value.__notes__)
    assert pool.apply(tasks.square, (3,)) == 9
