"""Semaphore and BoundedSemaphore across threads and processes, and holders that die."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

import corepool
from corepool.errors import HolderDiedError
from corepool.shared.memory import Segment
from corepool.sync import _monitor, semaphores

KINDS = ["Semaphore", "BoundedSemaphore"]


def crowd(semaphore: Any, guard: Any, stats: Segment, rounds: int) -> None:
    view = stats.buf.cast("q")  # [inside now, most inside at once, entries]
    for _ in range(rounds):
        with semaphore:
            with guard:
                view[0] += 1
                view[1] = max(view[1], view[0])
                view[2] += 1
            os.sched_yield()
            with guard:
                view[0] -= 1
    view.release()


def hold_unit_until_killed(semaphore: Any, holding: Any) -> None:
    semaphore.acquire()
    holding.set()
    threading.Event().wait(60)


def die_inside_a_change(semaphore: Any, stage: str, inside: Any) -> None:
    """Enter the semaphore's monitor, go as far as ``stage`` into taking 5 units, wait to be
    killed (as a process SIGKILLed at that instruction of an acquire would leave things)."""
    monitor = semaphore._monitor
    fields = monitor.fields
    monitor.enter()
    row = semaphore._row_of(0, fields)
    if stage == "torn journal entry":  # the (index, old value) pair written, not its length
        fields[_monitor.JOURNAL], fields[_monitor.JOURNAL + 1] = semaphores._VALUE, -7
    else:
        monitor.journal(semaphores._VALUE, row, row + 1)
        fields[row], fields[row + 1] = os.getpid(), 5
        fields[semaphores._VALUE] -= 5
        if stage == "committed, mutex still held":
            monitor.commit()
    inside.set()
    threading.Event().wait(60)


def take_unit_and_exit(semaphore: Any) -> None:
    semaphore.acquire()


def try_unit(semaphore: Any) -> bool:
    if semaphore.acquire(False):
        semaphore.release()
        return True
    return False


def take_unit(semaphore: Any) -> bool:
    """Wait for a unit: two workers may want the only one at the same moment."""
    if semaphore.acquire(timeout=30):
        semaphore.release()
        return True
    return False


@pytest.mark.parametrize("kind", KINDS)
def test_never_more_holders_than_units(kind: str, spawner: Any) -> None:
    semaphore = getattr(corepool, kind)(2)
    stats = Segment.create(24)
    spawner.run_all(crowd, [(semaphore, corepool.Lock(), stats, 100)] * 4)
    view = stats.buf.cast("q")
    assert (view[0], view[2]) == (0, 400)
    assert 1 <= view[1] <= 2
    view.release()
    stats.close()
    assert semaphore.get_value() == 2


def test_acquire_without_units_fails_or_times_out() -> None:
    semaphore = corepool.Semaphore(1)
    assert semaphore.acquire()
    assert semaphore.acquire(False) is False
    assert semaphore.acquire(timeout=0.01) is False
    semaphore.release()
    semaphore.release()  # an unbounded semaphore may grow
    assert semaphore.get_value() == 2


def test_bounded_semaphore_refuses_release_beyond_its_value() -> None:
    semaphore = corepool.BoundedSemaphore(1)
    with pytest.raises(ValueError, match="released too many times"):
        semaphore.release()


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), ("2", TypeError), (1.5, TypeError)])
def test_bad_initial_values_are_refused(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        corepool.Semaphore(value)  # type: ignore[arg-type]


def test_a_killed_holders_unit_comes_back(process_spawner: Any) -> None:
    semaphore = corepool.Semaphore(1)
    holding = process_spawner.event()
    holder = process_spawner.start(hold_unit_until_killed, semaphore, holding)
    assert holding.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    with pytest.raises(HolderDiedError) as died:
        semaphore.acquire(timeout=30)
    assert died.value.pid == holder.pid
    assert semaphore.acquire(timeout=30)


def test_recover_policy_hands_the_unit_over(process_spawner: Any) -> None:
    semaphore = corepool.BoundedSemaphore(1, on_holder_death="recover")
    holding = process_spawner.event()
    holder = process_spawner.start(hold_unit_until_killed, semaphore, holding)
    assert holding.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    assert semaphore.acquire(timeout=30)
    semaphore.release()


def test_a_unit_taken_by_a_process_that_exits_normally_stays_consumed(
    process_spawner: Any,
) -> None:
    semaphore = corepool.Semaphore(1)
    taker = process_spawner.start(take_unit_and_exit, semaphore)
    taker.join(30)
    assert taker.exitcode == 0
    assert semaphore.acquire(timeout=0.5) is False  # consumed, not "died holding"
    semaphore.release()
    assert semaphore.acquire(False)


@pytest.mark.parametrize(
    ("stage", "value_after"),
    [("torn journal entry", 6), ("fields changed", 6), ("committed, mutex still held", 1)],
)
def test_a_process_killed_inside_a_change_leaves_the_count_whole(
    stage: str, value_after: int, process_spawner: Any
) -> None:
    semaphore = corepool.Semaphore(6, on_holder_death="recover")
    inside = process_spawner.event()
    child = process_spawner.start(die_inside_a_change, semaphore, stage, inside)
    assert inside.wait(30)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    # The next acquire finds the mutex of a dead holder: it undoes what was not committed
    # (the fast path in C does it on the C backend) and takes one unit.
    assert semaphore.acquire(timeout=30)
    assert semaphore.get_value() == value_after - 1
    semaphore.release()
    assert semaphore.get_value() == value_after


def test_a_bad_timeout_is_refused_even_when_a_unit_is_free() -> None:
    semaphore = corepool.Semaphore(1)
    with pytest.raises((TypeError, ValueError)):
        semaphore.acquire(True, "soon")  # type: ignore[arg-type]
    assert semaphore.get_value() == 1
    assert semaphore.acquire(False, "ignored when not blocking")  # type: ignore[arg-type]
    semaphore.release()


@pytest.mark.parametrize("kind", KINDS)
def test_passed_to_pool_tasks(kind: str, pool: corepool.Pool) -> None:
    semaphore = getattr(corepool, kind)(1)
    assert pool.map(take_unit, [semaphore] * 4, chunksize=1) == [True] * 4
    with semaphore:
        assert pool.apply(try_unit, (semaphore,)) is False
