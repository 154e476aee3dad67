"""The functions the workers run.  Module-level so that every peer can pickle them by name."""

from __future__ import annotations

import time


def square(x: int) -> int:
    return x * x


def noop(*args: object) -> None:
    return None


def burn(loops: int) -> int:
    """Pure-Python CPU work: holds the GIL for the whole call, allocates nothing."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def integers(count: int):  # type: ignore[no-untyped-def]
    """A generator, so that nobody can take its length or slice it."""
    yield from range(count)
