"""Barrier: threading.Barrier semantics across threads and processes."""

from __future__ import annotations

import functools
import os
import signal
import threading
from typing import Any

import pytest

import corepool
from corepool.shared.memory import Segment


def count_action(counter: Segment) -> None:
    view = counter.buf.cast("q")
    view[0] += 1
    view.release()


def failing_action() -> None:
    raise KeyError("action failed")


def wait_and_record(barrier: Any, indices: Segment, slot: int) -> None:
    view = indices.buf.cast("q")
    view[slot] = barrier.wait(30) + 1
    view.release()


def wait_expecting_broken(barrier: Any) -> None:
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(30)


def wait_until_killed(barrier: Any) -> None:
    barrier.wait(60)


def test_every_party_passes_with_its_own_index_and_the_action_runs_once(spawner: Any) -> None:
    counter, indices = Segment.create(8), Segment.create(32)
    barrier = corepool.Barrier(4, action=functools.partial(count_action, counter))
    actors = [spawner.start(wait_and_record, barrier, indices, slot) for slot in range(3)]
    wait_and_record(barrier, indices, 3)
    for actor in actors:
        actor.join(30)
        assert actor.exitcode == 0
    view = indices.buf.cast("q")
    assert sorted(view) == [1, 2, 3, 4]
    assert counter.buf.cast("q")[0] == 1
    view.release()
    counter.close()
    indices.close()


def test_the_barrier_can_be_used_again(spawner: Any) -> None:
    barrier = corepool.Barrier(2)
    indices = Segment.create(16)
    for _ in range(3):
        other = spawner.start(wait_and_record, barrier, indices, 0)
        barrier.wait(30)
        other.join(30)
        assert other.exitcode == 0
    indices.close()


def test_a_timeout_breaks_the_barrier_for_everyone(spawner: Any) -> None:
    barrier = corepool.Barrier(3)
    other = spawner.start(wait_expecting_broken, barrier)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.2)
    other.join(30)
    assert other.exitcode == 0
    assert barrier.broken
    barrier.reset()
    assert not barrier.broken


def test_abort_breaks_waiting_parties(spawner: Any) -> None:
    barrier = corepool.Barrier(2)
    other = spawner.start(wait_expecting_broken, barrier)
    pause = threading.Event()
    while barrier.n_waiting == 0:
        pause.wait(0.01)
    barrier.abort()
    other.join(30)
    assert other.exitcode == 0
    with pytest.raises(corepool.BrokenBarrierError):
        barrier.wait(1)


def test_a_failing_action_breaks_the_barrier() -> None:
    barrier = corepool.Barrier(1, action=failing_action)
    with pytest.raises(KeyError):
        barrier.wait(5)
    assert barrier.broken


def test_a_party_killed_inside_wait_does_not_wedge_the_barrier(process_spawner: Any) -> None:
    barrier = corepool.Barrier(2)
    doomed = process_spawner.start(wait_until_killed, barrier)
    assert barrier.wait(30) in (0, 1)  # both passed; now the doomed one is killed before leaving
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(30)
    indices = Segment.create(8)
    other = process_spawner.start(wait_and_record, barrier, indices, 0)
    barrier.wait(30)
    other.join(30)
    assert other.exitcode == 0
    indices.close()


@pytest.mark.parametrize("parties", [0, -1, 1.5, True])
def test_bad_parties_are_refused(parties: object) -> None:
    with pytest.raises(ValueError, match="parties"):
        corepool.Barrier(parties)  # type: ignore[arg-type]


def wait_alone(barrier: Any) -> int:
    return int(barrier.wait(30))


def test_barrier_passed_to_pool_tasks(pool: corepool.Pool) -> None:
    barrier = corepool.Barrier(1)
    assert pool.map(wait_alone, [barrier] * 3) == [0, 0, 0]
