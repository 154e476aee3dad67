"""Real faults for the fault-injection suite: each kind of failure, at each stage of a task's trip.

Kinds: ``crash`` (a segfault through ctypes), ``exit`` (``os._exit``), ``exception`` (raises),
``hang`` (blocks until released or killed).  Stages: pickling the call (parent), unpickling it
(worker), running (worker), pickling the result (worker), unpickling the result (parent).
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from typing import Any

KINDS = ("crash", "exit", "exception", "hang")
EXIT_CODE = 7

# For tests that hang something in the parent itself: set when the hang begins; set the release
# event to end it.
parent_hang_entered = threading.Event()
parent_hang_release = threading.Event()


class InjectedError(Exception):
    """The error an ``exception`` fault raises."""


def fault(kind: str) -> None:
    """Fail right here, in the given way."""
    if kind == "crash":
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    elif kind == "exit":
        os._exit(EXIT_CODE)
    elif kind == "exception":
        raise InjectedError(f"injected {kind}")
    elif kind == "hang":
        if threading.current_thread() is threading.main_thread() and _in_worker():
            time.sleep(3600)
        else:
            parent_hang_entered.set()
            parent_hang_release.wait(60)
    else:
        raise ValueError(f"unknown fault kind {kind!r}")


def _in_worker() -> bool:
    import corepool

    return corepool.current_worker() is not None


class FailsWhenPickled:
    """Fails in the process that pickles it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:
        fault(self.kind)
        return (FailsWhenPickled, (self.kind,))


class FailsWhenUnpickled:
    """Pickles fine; fails in the process that unpickles it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle_and_fail, (self.kind,))


def _unpickle_and_fail(kind: str) -> FailsWhenUnpickled:
    fault(kind)
    return FailsWhenUnpickled(kind)


def take(value: object) -> str:
    """A task that receives an argument (the fault is in the argument)."""
    return "received"


def run_fault(kind: str) -> None:
    fault(kind)


def return_failing_to_pickle(kind: str) -> FailsWhenPickled:
    return FailsWhenPickled(kind)


def return_failing_to_unpickle(kind: str) -> FailsWhenUnpickled:
    return FailsWhenUnpickled(kind)


def crash_on(x: int, bad: int, kind: str = "crash") -> int:
    if x == bad:
        fault(kind)
    return x * x


def crash_once(marker: str, value: int) -> int:
    """Crash the first time (marker file absent), succeed after."""
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        fault("crash")
    return value


def busy(x: int, seconds: float = 0.0005) -> int:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return x


def allocate_and_keep(megabytes: int) -> int:
    """Grow this worker's memory and keep it (in worker_state); returns the pid."""
    import corepool

    corepool.worker_state().ballast = bytearray(megabytes * 2**20)
    return os.getpid()


def limit_address_space(extra_megabytes: int) -> None:
    """Cap this process's address space at what it uses now plus ``extra_megabytes``."""
    import resource

    with open("/proc/self/statm", "rb") as statm:
        used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = used + extra_megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 2**20))


def exit_in_initializer() -> None:
    os._exit(3)


def raise_in_initializer() -> None:
    raise InjectedError("initializer refuses")


def crash_after_returning(seconds: float) -> str:
    """Return at once, and end this worker process ``seconds`` later (a crash after the result
    was sent, as from an argument's ``__del__`` run by a later garbage collection)."""
    threading.Timer(seconds, os._exit, (1,)).start()
    return "returned"


class SlowToUnpickle:
    """An argument whose unpickling takes ``seconds`` in the worker (its reading phase)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __reduce__(self) -> tuple[object, ...]:
        return (_sleep_then_build, (self.seconds,))


def _sleep_then_build(seconds: float) -> SlowToUnpickle:
    if _in_worker():
        time.sleep(seconds)
    return SlowToUnpickle(seconds)


def exit_early_and_late(x: int) -> int:
    """Item 0 ends its worker at once, item 2 after 0.3 s; any other item returns itself."""
    if x == 0:
        os._exit(EXIT_CODE)
    if x == 2:
        time.sleep(0.3)
        os._exit(EXIT_CODE)
    return x
