"""The functions the workers run.  Module-level so that every peer can pickle them by name."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


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


def _timed(fn: Callable[[T], R], argument: T) -> tuple[R, float]:
    started = time.perf_counter()
    value = fn(argument)
    return value, time.perf_counter() - started


def burn_timed(loops: int) -> tuple[int, float]:
    """``burn``, and how long it took where it ran: a pool that keeps its workers fed has the
    sum of these close to workers x wall time, however slow the machine made each task."""
    return _timed(burn, loops)


def burn_median(loops: int, times: int) -> float:
    """The median time of ``times`` calls of ``burn`` where this runs: the speed of the same
    loop in one process against another (``bench_cpu_parents.py``)."""
    took = []
    for _ in range(times):
        started = time.perf_counter()
        burn(loops)
        took.append(time.perf_counter() - started)
    return sorted(took)[times // 2]


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def integers(count: int):  # type: ignore[no-untyped-def]
    """A generator, so that nobody can take its length or slice it."""
    yield from range(count)


# The tutorial's is_prime example (python-concurrency-tutorial.txt), without its print of the pid:
# six large ints, two of them prime.  A prime runs the whole loop (~16 M steps, ~1.5 s here); the
# others end in microseconds, so two tasks are the whole work and must run on different workers.
PRIMES = (
    1112272535095293,
    1112582705942171,
    1112272535095291,
    1115280095190773,
    1115797848077099,
    11099726899285419,
)


def is_prime(n: int) -> bool:
    # The tutorial's code as written (ruff would rewrite the loop, changing what is measured).
    if n % 2 == 0:
        return False
    sqrt_n = int(math.floor(math.sqrt(n)))  # noqa: RUF046
    for i in range(3, sqrt_n + 1, 2):  # noqa: SIM110
        if n % i == 0:
            return False
    return True


def is_prime_timed(n: int) -> tuple[bool, float]:
    """``is_prime``, and how long it ran where it ran (``bench_uneven_paired``)."""
    return _timed(is_prime, n)


def fib(limit: int) -> int:
    """The tutorial's ``fib``: iterative, on growing ints (cost grows with ``limit`` squared)."""
    n, a, b = 0, 0, 1
    while n < limit:
        a, b = b, a + b
        n += 1
    return b


# The tutorial's fib jobs scaled down: its ``job(n)`` sleeps 2 s, then runs ``fib(n)`` for n in
# 1..19 (microseconds).  Here the sleep is 20 ms and the argument n * 5000, so the 16 jobs take
# 25 ms to ~180 ms, growing with n squared: the longest come last in the input.
FIB_SCALE = 5000
FIB_SLEEP_SECONDS = 0.02


def fib_job(n: int) -> int:
    """The tutorial's ``job(n)`` without its print: a sleep, then ``fib``."""
    time.sleep(FIB_SLEEP_SECONDS)
    return fib(n * FIB_SCALE)


def fib_job_timed(n: int) -> tuple[int, float]:
    """``fib_job``, and how long it ran where it ran (``bench_uneven_paired``)."""
    return _timed(fib_job, n)
