"""How long a call takes on this machine, to size workloads to a time budget."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

# A single timing shorter than this is mostly timer and scheduling noise.
_MIN_TIMING_SECONDS = 0.005


def seconds_per_call(fn: Callable[[Any], object], arg: Any, samples: int = 7) -> float:
    """Median duration of ``fn(arg)`` over ``samples`` calls (the median shrugs off the odd
    slow call when the machine is busy)."""
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        fn(arg)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def loops_for(fn: Callable[[int], object], target_seconds: float) -> int:
    """The loop count for which ``fn(loops)`` takes about ``target_seconds``."""
    loops = 1_000
    while seconds_per_call(fn, loops, samples=1) < _MIN_TIMING_SECONDS:
        loops *= 4
    measured = seconds_per_call(fn, loops)
    return max(1, round(loops * target_seconds / measured))
