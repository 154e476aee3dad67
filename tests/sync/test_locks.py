"""Lock and RLock: mutual exclusion across threads and processes, passable, and dead holders."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest

import corepool
from corepool.errors import HolderDiedError, LockNotOwnedError
from corepool.shared.memory import Segment

LOCK_KINDS = ["Lock", "RLock"]


def make(kind: str, **options: Any) -> Any:
    return getattr(corepool, kind)(**options)


def add_under_lock(lock: Any, counter: Segment, rounds: int) -> None:
    view = counter.buf.cast("q")
    for _ in range(rounds):
        with lock:
            value = view[0]
            os.sched_yield()  # invite a race: without the lock, updates would be lost
            view[0] = value + 1
    view.release()


def hold_until_killed(lock: Any, holding: Any) -> None:
    lock.acquire()
    holding.set()
    threading.Event().wait(60)


def try_once(lock: Any) -> bool:
    got = lock.acquire(False)
    if got:
        lock.release()
    return got


def identity(value: object) -> object:
    return value


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_updates_under_the_lock_are_never_lost(kind: str, spawner: Any) -> None:
    lock = make(kind)
    counter = Segment.create(8)
    spawner.run_all(add_under_lock, [(lock, counter, 300)] * 3)
    assert counter.buf.cast("q")[0] == 900
    counter.close()


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_held_elsewhere_means_no_and_timeouts_return_false(kind: str, spawner: Any) -> None:
    lock = make(kind)
    holding = spawner.event()
    holder = spawner.start(hold_until_killed, lock, holding) if not spawner.is_thread else None
    if holder is None:  # a thread cannot be killed: hold it from a thread we release ourselves
        release = threading.Event()
        holder_thread = threading.Thread(target=_hold_and_release, args=(lock, holding, release))
        holder_thread.start()
    assert holding.wait(30)
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=0.05) is False
    assert lock.acquire(True, -1) is False  # negative timeout: no wait, as in multiprocessing
    if holder is None:
        release.set()
        holder_thread.join(30)
        assert try_once(lock)
    else:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(30)


def _hold_and_release(lock: Any, holding: threading.Event, release: threading.Event) -> None:
    with lock:
        holding.set()
        release.wait(30)


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_a_killed_holder_is_reported_once_then_the_lock_works(
    kind: str, process_spawner: Any
) -> None:
    lock = make(kind)
    holding = process_spawner.event()
    holder = process_spawner.start(hold_until_killed, lock, holding)
    assert holding.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    with pytest.raises(HolderDiedError) as died:
        lock.acquire(timeout=30)
    assert died.value.pid == holder.pid
    assert str(holder.pid) in str(died.value)
    assert try_once(lock)  # repaired and released


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_recover_policy_hands_the_lock_over(kind: str, process_spawner: Any) -> None:
    lock = make(kind, on_holder_death="recover")
    holding = process_spawner.event()
    holder = process_spawner.start(hold_until_killed, lock, holding)
    assert holding.wait(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    assert lock.acquire(timeout=30) is True
    lock.release()
    assert try_once(lock)


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_a_waiter_blocked_when_the_holder_dies_is_woken(kind: str, process_spawner: Any) -> None:
    lock = make(kind)
    holding = process_spawner.event()
    holder = process_spawner.start(hold_until_killed, lock, holding)
    assert holding.wait(30)
    outcome: list[object] = []

    def wait_for_lock() -> None:
        try:
            outcome.append(lock.acquire(timeout=30))
        except HolderDiedError as error:
            outcome.append(error)

    waiter = threading.Thread(target=wait_for_lock)
    waiter.start()
    os.kill(holder.pid, signal.SIGKILL)
    holder.join(30)
    waiter.join(40)
    assert len(outcome) == 1 and isinstance(outcome[0], HolderDiedError)


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_a_thread_that_ends_holding_the_lock_is_reported(kind: str) -> None:
    lock = make(kind)
    thread = threading.Thread(target=lock.acquire)
    thread.start()
    thread.join(30)
    with pytest.raises(HolderDiedError, match="thread of this process"):
        lock.acquire(timeout=30)
    assert try_once(lock)


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_passed_to_pool_tasks_and_back_it_is_the_same_lock(kind: str, pool: corepool.Pool) -> None:
    lock = make(kind)
    assert pool.apply(try_once, (lock,)) is True
    assert pool.map(try_once, [lock] * 6) == [True] * 6
    returned = pool.apply(identity, (lock,))
    assert returned is lock
    with lock:
        assert pool.apply(try_once, (lock,)) is False


@pytest.mark.parametrize("kind", LOCK_KINDS)
@pytest.mark.parametrize("executor_kind", ["ProcessPoolExecutor", "ThreadPoolExecutor"])
def test_executor_submit_passes_the_lock(kind: str, executor_kind: str) -> None:
    lock = make(kind)
    with getattr(corepool, executor_kind)(1) as executor:
        assert executor.submit(try_once, lock).result(30) is True
        with lock:
            assert executor.submit(try_once, lock).result(30) is False


def test_an_unrelated_process_given_the_pickle_shares_the_lock() -> None:
    lock = corepool.Lock()
    code = (
        "import pickle, sys; lock = pickle.loads(sys.stdin.buffer.read()); "
        "print(lock.acquire(False)); sys.stdout.flush(); "
        "print(lock.acquire(timeout=30)); lock.release()"
    )
    with lock:
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(pickle.dumps(lock))
        child.stdin.close()
        assert child.stdout.readline() == b"False\n"  # we hold it
    assert child.wait(30) == 0
    assert child.stdout.read() == b"True\n"
    assert child.stderr is not None and child.stderr.read() == b""
    for stream in (child.stdout, child.stderr):
        stream.close()
    assert try_once(lock)


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_pickling_within_a_process_returns_the_same_object(kind: str) -> None:
    lock = make(kind)
    assert pickle.loads(pickle.dumps(lock)) is lock


@pytest.mark.parametrize("kind", LOCK_KINDS)
def test_acquire_takes_multiprocessing_arguments_and_refuses_others(kind: str) -> None:
    lock = make(kind)
    assert lock.acquire(block=True, timeout=1) is True
    lock.release()
    assert lock.acquire(True, 0.5) is True
    reentered = lock.acquire(timeout=0)
    assert reentered is (kind == "RLock")  # a Lock's holder cannot take it again
    if reentered:
        lock.release()
    lock.release()
    with lock as entered:
        assert entered is True
    for bad_call in (
        lambda: lock.acquire(True, 1, 2),
        lambda: lock.acquire(False, blocking=True),  # the same argument twice
        lambda: lock.acquire(True, block=True),
    ):
        with pytest.raises(TypeError):
            bad_call()  # refused even though the lock is free
    assert try_once(lock)


def test_releasing_an_unlocked_lock_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unlocked"):
        corepool.Lock().release()


def test_releasing_another_threads_lock_is_refused() -> None:
    lock = corepool.Lock()
    release = threading.Event()
    holding = threading.Event()
    thread = threading.Thread(target=_hold_and_release, args=(lock, holding, release))
    thread.start()
    assert holding.wait(30)
    with pytest.raises(LockNotOwnedError) as refused:
        lock.release()
    assert isinstance(refused.value, AssertionError) and isinstance(refused.value, RuntimeError)
    release.set()
    thread.join(30)


def test_rlock_nests_and_must_be_released_as_often() -> None:
    lock = corepool.RLock()
    with lock, lock:
        assert lock._is_owned()
        assert lock.acquire(False)
        lock.release()
    assert not lock._is_owned()
    with pytest.raises(LockNotOwnedError, match="un-acquired"):
        lock.release()


def test_a_lock_held_by_this_thread_times_out_or_names_the_deadlock() -> None:
    lock = corepool.Lock()
    with lock:
        assert lock.acquire(False) is False
        assert lock.acquire(timeout=0.01) is False
        with pytest.raises(RuntimeError, match="deadlock"):
            lock.acquire()


def test_unknown_holder_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="on_holder_death"):
        corepool.Lock(on_holder_death="ignore")  # type: ignore[arg-type]


class Interrupted(Exception):
    pass


@pytest.mark.timeout(30)
def test_ctrl_c_interrupts_a_main_thread_waiting_for_a_lock() -> None:
    lock = corepool.Lock()
    holding, release, stop = threading.Event(), threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_and_release, args=(lock, holding, release))
    holder.start()
    assert holding.wait(30)
    fired: list[int] = []

    def on_sigint(signum: int, frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise Interrupted

    def keep_interrupting() -> None:
        while not stop.wait(0.02):
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, on_sigint)
    interrupter = threading.Thread(target=keep_interrupting)
    try:
        interrupter.start()
        with pytest.raises(Interrupted):
            lock.acquire(timeout=25)
    finally:
        stop.set()
        interrupter.join(10)
        signal.signal(signal.SIGINT, previous)
        release.set()
        holder.join(10)
