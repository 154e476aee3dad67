"""How much of the time the GIL is taken: a thread that sleeps 1 ms at a time and notes how late
it wakes.

A thread waking from ``time.sleep`` needs the GIL to go on.  When another thread computes in
Python, it holds the GIL until the switch interval (5 ms) makes it let go, so the sleeper wakes
milliseconds late; when the others wait (I/O) or compute in C with the GIL released, it wakes on
time (tens of µs late on this 2-core machine, up to a few hundred under load).  The share of late
wake-ups estimates the share of time the GIL was taken, at ~1,000 samples a second and no cost
to the tasks themselves (``sys.setswitchinterval`` is not touched).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

_PERIOD = 0.001
# Late by more than a fifth of the switch interval (1 ms by default): another thread had the GIL.
_LATE = max(0.0005, sys.getswitchinterval() / 5)


class GilSampler:
    """Samples ``(time.perf_counter() at wake-up, woke late)``; the share of late ones counts
    only while tasks ran (``held_during``), not while the pool was starting or idle."""

    def __init__(self, keep: int = 20_000) -> None:
        self._stop = threading.Event()
        self._samples: deque[tuple[float, bool]] = deque(maxlen=keep)  # ~20 s of samples
        self._thread = threading.Thread(target=self._run, name="corepool-gil-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def held_during(self, intervals: list[tuple[float, float]]) -> float | None:
        """Share of the samples inside ``intervals`` (``perf_counter`` spans) that woke late;
        ``None`` when no sample fell inside."""
        samples = list(self._samples)  # appends from the sampler thread may go on meanwhile
        inside = late = 0
        for moment, was_late in samples:
            if any(start <= moment <= end for start, end in intervals):
                inside += 1
                late += was_late
        return late / inside if inside else None

    def _run(self) -> None:
        clock = time.perf_counter
        append = self._samples.append
        while not self._stop.is_set():
            asleep = clock()
            time.sleep(_PERIOD)
            woke = clock()
            append((woke, woke - asleep - _PERIOD > _LATE))
