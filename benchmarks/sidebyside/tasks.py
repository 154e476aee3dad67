"""The functions the workers run.  Module-level so that every peer can pickle them by name."""

from __future__ import annotations

import time


def square(x: int) -> int:
    return x * x


def multiply(x: int, y: int) -> int:
    return x * y


def noop(*args: object) -> None:
    return None


def burn(loops: int) -> int:
    """Pure-Python CPU work: holds the GIL for the whole call, allocates nothing."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def burn_timed(loops: int) -> tuple[int, float]:
    """``burn``, and how long it took where it ran: a pool that keeps its workers fed has the
    sum of these close to workers x wall time, however slow the machine made each task."""
    started = time.perf_counter()
    total = burn(loops)
    return total, time.perf_counter() - started


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def integers(count: int):  # type: ignore[no-untyped-def]
    """A generator, so that nobody can take its length or slice it."""
    yield from range(count)
