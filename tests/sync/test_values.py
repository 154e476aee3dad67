"""Value, Array, RawValue, RawArray: shared ctypes objects that can be passed anywhere."""

from __future__ import annotations

import ctypes
import pickle
from typing import Any

import pytest

import corepool


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]


def count_up(counter: Any, rounds: int) -> None:
    for _ in range(rounds):
        with counter.get_lock():
            counter.value += 1


def double_all(array: Any) -> int:
    with array.get_lock():
        array[:] = [value * 2 for value in array[:]]
    return len(array)


def write_text(text: Any) -> bytes:
    text.value = b"from a task"
    return bytes(text.raw[:4])


def move_point(point: Any) -> float:
    point.x += 1
    point.y *= 2
    return float(point.y)


def echo(value: object) -> object:
    return value


def test_the_classic_locked_counter_never_loses_an_update(spawner: Any) -> None:
    counter = corepool.Value("i", 0)
    spawner.run_all(count_up, [(counter, 200)] * 4)
    assert counter.value == 800


def test_values_and_arrays_change_in_pool_tasks(pool: corepool.Pool) -> None:
    counter = corepool.Value("q", 10)
    pool.starmap(count_up, [(counter, 5)] * 4)
    assert counter.value == 30
    numbers = corepool.Array("d", [1.0, 2.5, -3.0])
    assert pool.apply(double_all, (numbers,)) == 3
    assert numbers[:] == [2.0, 5.0, -6.0]
    assert pool.apply(echo, (counter,)) is counter


def test_a_char_array_is_a_string(pool: corepool.Pool) -> None:
    text = corepool.Array("c", 16)
    assert pool.apply(write_text, (text,)) == b"from"
    assert text.value == b"from a task"
    text.raw = b"x" * 16
    assert text.value == b"x" * 16


def test_raw_objects_have_no_lock_and_still_travel(pool: corepool.Pool) -> None:
    point = corepool.RawValue(Point, 1, 1.5)
    assert pool.apply(move_point, (point,)) == 3.0
    assert (point.x, point.y) == (2, 3.0)
    raw = corepool.RawArray("i", 3)
    assert raw[:] == [0, 0, 0]
    assert pickle.loads(pickle.dumps(raw)) is raw
    assert not hasattr(corepool.Value("i", 1, lock=False), "get_lock")
    assert repr(corepool.RawValue("i", 5)) == "c_int(5)"


def test_a_given_lock_is_used() -> None:
    lock = corepool.Lock()
    value = corepool.Value("d", 1.0, lock=lock)
    assert value.get_lock() is lock
    with value:
        assert lock.acquire(False) is False
    assert lock.acquire(False)
    lock.release()


@pytest.mark.parametrize("typecode", ["z", "", "ii", 3, float])
def test_bad_typecodes_are_refused(typecode: object) -> None:
    with pytest.raises(TypeError, match="typecode"):
        corepool.Value(typecode)


def test_bad_sizes_and_locks_are_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        corepool.Array("i", -1)
    with pytest.raises(AttributeError, match="acquire"):
        corepool.Value("i", 0, lock=object())
    with pytest.raises(TypeError):
        corepool.Array("i", [1, "two"])
