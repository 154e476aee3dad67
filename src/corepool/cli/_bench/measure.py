"""How ``corepool bench`` runs a workload: serial, on threads, on processes.

    open every runner (pools start here: start-up timed once per pool)
      └─ repetition 1..n ─ workload ─ mode ─▶ runner.run(): one map over the workload, timed
    close every runner

Repetitions go round-robin over workloads and modes, so that a slow moment of the machine is
spread over all of them instead of spoiling one row.  The pools are corepool's own:
``Pool(backend="threads")`` and ``Pool()`` (processes, forkserver), with default ``map`` arguments.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Literal

from corepool.cli._bench.workloads import Workload, meet
from corepool.pool import Pool
from corepool.sync.barrier import Barrier

Mode = Literal["serial", "threads", "processes"]
MODES: tuple[Mode, ...] = ("serial", "threads", "processes")


@dataclass
class Measurement:
    workload: str
    mode: Mode
    workers: int
    start_seconds: float | None
    """Starting the pool and warming every worker up; None when serial (nothing to start)."""
    run_seconds: list[float] = field(default_factory=list)
    """One ``map`` over the whole workload, per repetition."""

    @property
    def median(self) -> float:
        return statistics.median(self.run_seconds)


class Runner:
    """Runs one workload in one mode, as many times as asked."""

    def __init__(self, workload: Workload, mode: Mode, pool: Pool | None, start: float | None):
        self.workload = workload
        self.measurement = Measurement(
            workload.name, mode, 1 if pool is None else workload.workers, start
        )
        self._pool = pool

    def run(self) -> float:
        workload, pool = self.workload, self._pool
        started = time.perf_counter()
        if pool is None:
            results = [workload.fn(arg) for arg in workload.args]
        else:
            results = pool.map(workload.fn, workload.args)
        seconds = time.perf_counter() - started
        if len(results) != workload.tasks:
            raise RuntimeError(
                f"{workload.name}: {len(results)} results for {workload.tasks} tasks"
            )
        self.measurement.run_seconds.append(seconds)
        return seconds


@contextmanager
def open_runner(workload: Workload, mode: Mode) -> Iterator[Runner]:
    if mode == "serial":
        yield Runner(workload, mode, None, None)
        return
    started = time.perf_counter()
    backend = "threads" if mode == "threads" else "processes"
    pool = Pool(workload.workers, backend=backend)
    try:
        # A task per worker that waits for all the others: a pool hands tasks to the workers
        # that are ready first, so a plain warm-up could end with some still starting, and
        # their start-up would then be paid during the measurements.
        pool.map(meet, [Barrier(workload.workers)] * workload.workers, chunksize=1)
        start_seconds = time.perf_counter() - started
        yield Runner(workload, mode, pool, start_seconds)
    finally:
        pool.close()
        pool.join()


def measure(
    workloads: Sequence[Workload],
    repeat: int,
    modes: Sequence[Mode] = MODES,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Measurement]:
    with ExitStack() as stack:
        runners: list[Runner] = []
        for workload in workloads:
            for mode in modes:
                progress(f"starting {workload.name} / {mode}")
                runners.append(stack.enter_context(open_runner(workload, mode)))
        for repetition in range(1, repeat + 1):
            for runner in runners:
                seconds = runner.run()
                progress(
                    f"run {repetition}/{repeat}: {runner.workload.name} / "
                    f"{runner.measurement.mode}: {seconds:.3f} s"
                )
        return [runner.measurement for runner in runners]
