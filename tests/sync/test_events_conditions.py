"""Event and Condition across threads and processes; waiters that time out or die."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import threading
from typing import Any

import pytest

import corepool
from corepool.errors import LockNotOwnedError
from corepool.shared.memory import Segment
from corepool.sync import event as event_module


def set_event(event: Any) -> None:
    event.set()


def wait_event(event: Any, seen: Any) -> None:
    if event.wait(30):
        seen.set()


def produce(condition: Any, box: Segment, count: int) -> None:
    view = box.buf.cast("q")
    for _ in range(count):
        with condition:
            view[0] += 1
            condition.notify()
    view.release()


def consume(condition: Any, box: Segment, count: int, done: Segment) -> None:
    view, finished = box.buf.cast("q"), done.buf.cast("q")
    taken = 0
    while taken < count:
        with condition:
            assert condition.wait_for(lambda: view[0] > 0, 30)
            view[0] -= 1
            taken += 1
    finished[0] += taken
    view.release()
    finished.release()


def wait_to_be_notified(condition: Any, woken: Segment, ready: Any) -> None:
    view = woken.buf.cast("q")
    with condition:
        ready.set()
        if condition.wait(30):
            view[0] += 1
    view.release()


def wait_until_killed(condition: Any, ready: Any) -> None:
    with condition:
        ready.set()
        condition.wait(60)


def waiting_count(condition: Any) -> int:
    with condition._monitor as monitor:
        return len(condition._oldest_waiting(monitor.fields, 1000))


def wait_for_waiters(condition: Any, count: int) -> None:
    pause = threading.Event()
    for _ in range(3000):
        if waiting_count(condition) == count:
            return
        pause.wait(0.01)
    raise AssertionError(f"never saw {count} waiters")


# -- Event


def test_event_set_elsewhere_wakes_the_waiter(spawner: Any) -> None:
    event = corepool.Event()
    seen = spawner.event()
    waiter = spawner.start(wait_event, event, seen)
    setter = spawner.start(set_event, event)
    setter.join(30)
    waiter.join(30)
    assert seen.is_set() and event.is_set()


def test_event_wait_times_out_and_clear_resets() -> None:
    event = corepool.Event()
    assert event.wait(0.01) is False
    event.set()
    assert event.wait() is True
    event.clear()
    assert not event.is_set()


def sleepers_reach(event: Any, count: int) -> None:
    fields, pause = event._monitor.fields, threading.Event()
    for _ in range(3000):
        if fields[event_module._SLEEPERS] == count:
            return
        pause.wait(0.01)
    raise AssertionError(f"never saw {count} sleepers")


def test_a_waiter_killed_while_asleep_does_not_stop_set_waking_the_others(
    process_spawner: Any,
) -> None:
    event = corepool.Event()
    never_seen = process_spawner.event()  # kept here: start() drops its arguments
    doomed = process_spawner.start(wait_event, event, never_seen)
    sleepers_reach(event, 1)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(30)
    seen = process_spawner.event()
    waiter = process_spawner.start(wait_event, event, seen)
    sleepers_reach(event, 2)  # the dead one is still counted: it only costs a useless wake
    event.set()
    waiter.join(30)
    assert waiter.exitcode == 0 and seen.is_set()
    assert event._monitor.fields[event_module._SLEEPERS] == 1


def test_event_passed_to_pool_tasks(pool: corepool.Pool) -> None:
    event = corepool.Event()
    pool.apply(set_event, (event,))
    assert event.is_set()


# -- Condition


def test_consumers_see_every_notified_item(spawner: Any) -> None:
    condition = corepool.Condition()
    box, done = Segment.create(8), Segment.create(8)
    consumers = [spawner.start(consume, condition, box, 50, done) for _ in range(2)]
    producer = spawner.start(produce, condition, box, 100)
    for actor in [producer, *consumers]:
        actor.join(50)
        assert actor.exitcode == 0
    assert done.buf.cast("q")[0] == 100
    box.close()
    done.close()


def test_notify_wakes_exactly_n_waiters(spawner: Any) -> None:
    condition = corepool.Condition(corepool.Lock())
    woken = Segment.create(8)
    readies = [spawner.event() for _ in range(3)]
    waiters = [spawner.start(wait_to_be_notified, condition, woken, ready) for ready in readies]
    for ready in readies:
        assert ready.wait(30)
    wait_for_waiters(condition, 3)
    with condition:
        condition.notify(2)
    wait_for_waiters(condition, 1)
    with condition:
        condition.notify_all()
    for waiter in waiters:
        waiter.join(30)
    assert woken.buf.cast("q")[0] == 3
    woken.close()


def test_a_killed_waiter_does_not_swallow_a_notification(process_spawner: Any) -> None:
    condition = corepool.Condition()
    ready = process_spawner.event()
    doomed = process_spawner.start(wait_until_killed, condition, ready)
    assert ready.wait(30)
    wait_for_waiters(condition, 1)
    with condition:  # it counts as waiting just before it lets go of the lock: wait for that
        pass
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(30)
    woken = Segment.create(8)
    live_ready = threading.Event()
    live = threading.Thread(target=wait_to_be_notified, args=(condition, woken, live_ready))
    live.start()
    assert live_ready.wait(30)
    wait_for_waiters(condition, 1)  # the dead waiter is not counted
    with condition:
        condition.notify(1)
    live.join(30)
    assert woken.buf.cast("q")[0] == 1
    woken.close()


def test_wait_times_out_with_the_lock_held_again() -> None:
    condition = corepool.Condition()
    with condition:
        assert condition.wait(0.01) is False
        assert condition._lock._is_owned()


def test_waiting_or_notifying_without_the_lock_is_refused() -> None:
    condition = corepool.Condition()
    with pytest.raises(LockNotOwnedError):
        condition.wait(0.01)
    with pytest.raises(LockNotOwnedError):
        condition.notify()


def test_condition_needs_a_corepool_lock() -> None:
    with pytest.raises(TypeError, match="corepool Lock or RLock"):
        corepool.Condition(threading.Lock())  # type: ignore[arg-type]


def notify_once(condition: Any) -> bool:
    with condition:
        condition.notify()
    return True


def test_condition_passed_to_pool_tasks_keeps_its_lock(pool: corepool.Pool) -> None:
    condition = corepool.Condition()
    assert pool.apply(notify_once, (condition,))


def test_event_repr_reads_like_multiprocessings() -> None:
    ours, standard = corepool.Event(), multiprocessing.get_context("fork").Event()
    for change in (None, "set", "clear"):
        if change:
            getattr(ours, change)()
            getattr(standard, change)()
        pattern = r"<Event at 0x[0-9a-f]+ (set|unset)>"
        assert re.fullmatch(pattern, repr(standard))
        assert re.fullmatch(pattern, repr(ours))
        assert repr(ours).split()[-1] == repr(standard).split()[-1]
