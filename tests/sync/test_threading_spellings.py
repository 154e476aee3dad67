"""Code written for ``threading`` ports unchanged: ``acquire(blocking=..., timeout=...)`` with
threading's rules, ``Lock.locked()``, ``Semaphore.release(n)``; positional arguments and
``block=`` keep multiprocessing's rules."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import corepool

LOCK_KINDS = ["Lock", "RLock", "Condition"]
SEMAPHORE_KINDS = ["Semaphore", "BoundedSemaphore"]
ALL_KINDS = LOCK_KINDS + SEMAPHORE_KINDS


def make(kind: str, units: int = 0) -> Any:
    """A corepool lock, condition, or semaphore of ``units`` units."""
    cls = getattr(corepool, kind)
    return cls(units) if kind in SEMAPHORE_KINDS else cls()


def standard(kind: str) -> Any:
    return getattr(threading, kind)(0) if kind in SEMAPHORE_KINDS else getattr(threading, kind)()


def hold_until_told(primitive: Any, holding: Any, go: Any) -> None:
    primitive.acquire()
    holding.set()
    go.wait(30)
    primitive.release()


def hold_elsewhere(spawner: Any, primitive: Any) -> tuple[Any, Any]:
    """Start an actor that holds ``primitive`` until ``go`` is set: (actor, go)."""
    holding, go = spawner.event(), spawner.event()
    actor = spawner.start(hold_until_told, primitive, holding, go)
    assert holding.wait(30)
    return actor, go


def wait_for_unit(semaphore: Any) -> None:
    assert semaphore.acquire(timeout=30)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_timeout_with_blocking_false_is_a_value_error_as_in_threading(kind: str) -> None:
    with pytest.raises(ValueError):
        standard(kind).acquire(blocking=False, timeout=1)
    with pytest.raises(ValueError, match="non-blocking"):
        make(kind).acquire(blocking=False, timeout=1)


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_locks_refuse_a_negative_timeout_other_than_minus_one_as_in_threading(kind: str) -> None:
    with pytest.raises(ValueError):
        standard(kind).acquire(blocking=True, timeout=-2)
    with pytest.raises(ValueError, match="non-negative"):
        make(kind).acquire(blocking=True, timeout=-2)
    primitive = make(kind)
    assert primitive.acquire(blocking=False, timeout=-1)  # -1 is threading's "no timeout"
    primitive.release()


@pytest.mark.parametrize("kind", SEMAPHORE_KINDS)
def test_semaphores_treat_a_negative_timeout_as_zero_as_in_threading(kind: str) -> None:
    started = time.monotonic()
    assert standard(kind).acquire(blocking=True, timeout=-1) is False
    assert make(kind).acquire(blocking=True, timeout=-1) is False
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_blocking_keyword_takes_a_free_primitive_and_times_out_on_a_held_one(
    kind: str, spawner: Any
) -> None:
    primitive = make(kind, units=1)
    actor, go = hold_elsewhere(spawner, primitive)
    try:
        assert primitive.acquire(blocking=False) is False
        assert primitive.acquire(blocking=True, timeout=0.05) is False
    finally:
        go.set()
        actor.join(30)
    assert primitive.acquire(blocking=True, timeout=30) is True
    primitive.release()


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_minus_one_waits_for_the_holder_where_positional_minus_one_does_not(
    kind: str, process_spawner: Any
) -> None:
    lock = make(kind)
    actor, go = hold_elsewhere(process_spawner, lock)
    try:
        assert lock.acquire(True, -1) is False  # multiprocessing: a negative timeout is 0
        go.set()
        assert lock.acquire(blocking=True, timeout=-1) is True  # threading: no timeout
        lock.release()
    finally:
        go.set()
        actor.join(30)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_positional_arguments_keep_multiprocessing_rules(kind: str) -> None:
    primitive = make(kind)  # semaphores: no unit
    holding, go = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_until_told, args=(primitive, holding, go))
    if kind not in SEMAPHORE_KINDS:
        holder.start()
        assert holding.wait(30)
    try:
        started = time.monotonic()
        assert primitive.acquire(False, 30) is False  # a non-blocking call ignores its timeout
        assert primitive.acquire(block=False, timeout=30) is False
        assert time.monotonic() - started < 5
    finally:
        go.set()
        if holder.is_alive():
            holder.join(30)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_block_and_blocking_together_are_a_type_error(kind: str) -> None:
    with pytest.raises(TypeError):
        make(kind).acquire(block=False, blocking=False)


def test_lock_locked_sees_a_holder_in_another_process(spawner: Any) -> None:
    lock = corepool.Lock()
    assert lock.locked() is False
    actor, go = hold_elsewhere(spawner, lock)
    try:
        assert lock.locked() is True
    finally:
        go.set()
        actor.join(30)
    assert lock.locked() is False
    with lock:
        assert lock.locked() is True


def test_rlock_has_locked_where_threading_rlock_has_it() -> None:
    assert hasattr(corepool.RLock(), "locked") == hasattr(threading.RLock(), "locked")


def test_release_n_wakes_n_waiters(spawner: Any) -> None:
    semaphore = corepool.Semaphore(0)
    waiters = [spawner.start(wait_for_unit, semaphore) for _ in range(3)]
    semaphore.release(3)
    for waiter in waiters:
        waiter.join(40)
        assert waiter.exitcode == 0
    assert semaphore.get_value() == 0


def test_bounded_semaphore_refuses_release_n_past_its_bound_and_changes_nothing() -> None:
    semaphore = corepool.BoundedSemaphore(3)
    for _ in range(2):
        semaphore.acquire()
    with pytest.raises(ValueError):
        semaphore.release(3)
    assert semaphore.get_value() == 1
    semaphore.release(2)
    assert semaphore.get_value() == 3


@pytest.mark.parametrize("kind", SEMAPHORE_KINDS)
def test_release_of_fewer_than_one_unit_is_a_value_error_as_in_threading(kind: str) -> None:
    with pytest.raises(ValueError):
        standard(kind).release(0)
    with pytest.raises(ValueError, match="one or more"):
        make(kind).release(0)
