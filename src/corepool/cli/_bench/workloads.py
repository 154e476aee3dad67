"""What ``corepool bench`` runs: a CPU-dense and an I/O-dense workload, sized to a time budget.

A ``Workload`` is a function, the list of arguments to map it over and the ladder of worker
counts to try; ``measure`` runs it the same way in every mode.  The user's own function
(``corepool bench mymod:func``, ``userfn.py``) is one more ``Workload``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corepool.cli._bench.calibrate import loops_for
from corepool.sync.barrier import Barrier


@dataclass(frozen=True)
class Workload:
    name: str
    """Short name, shown in the table: ``cpu``, ``io``."""
    description: str
    fn: Callable[[Any], Any]
    args: Sequence[Any]
    seconds_per_task: float
    """How long one task takes alone, from the calibration (or by construction)."""
    ladder: tuple[int, ...]
    """The worker counts tried, smallest first (``worker_ladder``)."""
    more_workers_option: str = "--workers"
    """The option that raises the top of the ladder, named in the advice."""

    @property
    def tasks(self) -> int:
        return len(self.args)


def spin(loops: int) -> int:
    """Pure-Python arithmetic: holds the GIL throughout, touches no memory to speak of."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def wait_for_io(latency: float) -> float:
    """Stands for a network call or a disk read: the thread waits and the GIL is free."""
    time.sleep(latency)
    return latency


def worker_ladder(top: int) -> tuple[int, ...]:
    """1, 2, 4, 8, ... up to ``top``, and ``top`` itself: doubling keeps the runs few (each one
    costs a full map) while still showing where more workers stop helping."""
    ladder = [1]
    while ladder[-1] * 2 < top:
        ladder.append(ladder[-1] * 2)
    if top > 1:
        ladder.append(top)
    return tuple(ladder)


def cpu_dense(budget_seconds: float, task_seconds: float, workers: int) -> Workload:
    loops = loops_for(spin, task_seconds)
    tasks = _task_count(budget_seconds, task_seconds, workers)
    return Workload(
        name="cpu",
        description=f"{tasks} tasks of ~{task_seconds * 1000:.0f} ms of pure-Python arithmetic",
        fn=spin,
        args=[loops] * tasks,
        seconds_per_task=task_seconds,
        ladder=worker_ladder(workers),
    )


def io_dense(budget_seconds: float, latency: float, workers: int) -> Workload:
    tasks = _task_count(budget_seconds, latency, workers)
    return Workload(
        name="io",
        description=f"{tasks} tasks each waiting {latency * 1000:.0f} ms for I/O (time.sleep)",
        fn=wait_for_io,
        args=[latency] * tasks,
        seconds_per_task=latency,
        ladder=worker_ladder(workers),
        more_workers_option="--io-workers",
    )


def _task_count(budget_seconds: float, task_seconds: float, workers: int) -> int:
    """Tasks that take ``budget_seconds`` one after another, rounded up to whole waves of
    ``workers`` (the top of the ladder, and so of every power of two below it) so that no
    worker idles through a last, partial wave."""
    waves = max(1, math.ceil(budget_seconds / task_seconds / workers))
    return waves * workers


def meet(barrier: Barrier) -> None:
    """Warms a pool up: every worker holds one of these at once, so all of them have started."""
    barrier.wait(60)
