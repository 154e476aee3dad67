"""How ``corepool bench`` runs a workload: serial, then each pool backend at each worker count.

    for each workload:
      open its runners: serial, and a pool per backend x worker count (start-up timed once)
        └─ repetition 1..n ─ runner ─▶ runner.run(): one map over the workload, timed
      close its pools

Repetitions go round-robin over a workload's runners, so that a slow moment of the machine is
spread over all of them instead of spoiling one row.  Only one workload's pools are open at a
time (at most 1 + 2 + 4 + 8 + 16 workers per backend).  The pools are corepool's own:
``Pool(n, backend="threads")``, ``Pool(n)`` (processes, forkserver) and, where this corepool has
it and it starts, ``Pool(n, backend="interpreters")``; ``map`` runs with default arguments.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from corepool._backends.registry import backend_names
from corepool.cli._bench.progress import Steps
from corepool.cli._bench.workloads import Workload, meet
from corepool.pool import Pool
from corepool.sync.barrier import Barrier

SERIAL = "serial"
POOL_MODES: tuple[str, ...] = ("threads", "processes")
OPTIONAL_MODES: tuple[str, ...] = ("interpreters",)


@dataclass
class Measurement:
    workload: str
    mode: str
    """``serial`` or a backend name."""
    workers: int
    start_seconds: float | None
    """Starting the pool and warming every worker up; None when serial (nothing to start)."""
    run_seconds: list[float] = field(default_factory=list)
    """One ``map`` over the whole workload, per repetition."""

    @property
    def fastest(self) -> float:
        """What the table shows.  Other programs only ever slow a run down (on the shared 2-core
        machine corepool is built on, runs of one measurement varied by up to 44 %), so the
        fastest run is the best estimate of what the work costs when it has the cores."""
        return min(self.run_seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.run_seconds)


def pool_modes() -> tuple[tuple[str, ...], list[str]]:
    """The backends to measure, and a one-line note for each optional one left out (why)."""
    modes, notes = list(POOL_MODES), []
    for name in OPTIONAL_MODES:
        if name not in backend_names():
            notes.append(f"{name}: skipped (this corepool has no {name!r} backend)")
            continue
        try:
            with Pool(1, backend=name) as pool:
                pool.map(abs, [1])
        except Exception as error:  # noqa: BLE001 - any failure to start means "not here"
            first_line = (str(error).splitlines() or [type(error).__name__])[0]
            notes.append(f"{name}: skipped (not available here: {first_line})")
        else:
            modes.append(name)
    return tuple(modes), notes


class Runner:
    """Runs one workload in one mode at one worker count, as many times as asked."""

    def __init__(
        self, workload: Workload, mode: str, workers: int, pool: Pool | None, start: float | None
    ):
        self.workload = workload
        self.measurement = Measurement(workload.name, mode, workers, start)
        self._pool = pool

    @property
    def label(self) -> str:
        m = self.measurement
        return f"{m.workload} {m.mode}" + ("" if m.mode == SERIAL else f" x{m.workers}")

    def run(self) -> float:
        workload, pool = self.workload, self._pool
        started = time.perf_counter()
        if pool is None:
            results = [workload.fn(arg) for arg in workload.args]
        else:
            results = pool.map(workload.fn, workload.args)
        seconds = time.perf_counter() - started
        if len(results) != workload.tasks:
            raise RuntimeError(f"{self.label}: {len(results)} results for {workload.tasks} tasks")
        self.measurement.run_seconds.append(seconds)
        return seconds


@contextmanager
def open_runner(workload: Workload, mode: str, workers: int = 1) -> Iterator[Runner]:
    if mode == SERIAL:
        yield Runner(workload, mode, 1, None, None)
        return
    started = time.perf_counter()
    pool = Pool(workers, backend=mode)
    try:
        # A task per worker that waits for all the others: a pool hands tasks to the workers
        # that are ready first, so a plain warm-up could end with some still starting, and
        # their start-up would then be paid during the measurements.
        pool.map(meet, [Barrier(workers)] * workers, chunksize=1)
        start_seconds = time.perf_counter() - started
        yield Runner(workload, mode, workers, pool, start_seconds)
    finally:
        pool.close()
        pool.join()


def plan(workload: Workload, modes: Sequence[str]) -> list[tuple[str, int]]:
    """(mode, workers) of every runner of a workload: serial once, each backend at each count."""
    return [(SERIAL, 1)] + [(mode, n) for mode in modes for n in workload.ladder]


def steps_for(workloads: Sequence[Workload], modes: Sequence[str], repeat: int) -> int:
    """How many progress steps ``measure`` takes: a pool start, or a run."""
    runners = sum(len(plan(workload, modes)) for workload in workloads)
    pools = runners - len(workloads)
    return pools + runners * repeat


def measure(
    workloads: Sequence[Workload], repeat: int, modes: Sequence[str], steps: Steps
) -> list[Measurement]:
    found: list[Measurement] = []
    for workload in workloads:
        found.extend(_measure_one(workload, repeat, modes, steps))
    return found


def _measure_one(
    workload: Workload, repeat: int, modes: Sequence[str], steps: Steps
) -> list[Measurement]:
    with ExitStack() as stack:
        runners: list[Runner] = []
        for mode, workers in plan(workload, modes):
            runner = stack.enter_context(open_runner(workload, mode, workers))
            if runner.measurement.start_seconds is not None:
                steps.done(f"started {runner.label}: {runner.measurement.start_seconds:.3f} s")
            runners.append(runner)
        for repetition in range(1, repeat + 1):
            for runner in runners:
                seconds = runner.run()
                steps.done(f"run {repetition}/{repeat} {runner.label}: {seconds:.3f} s")
        return [runner.measurement for runner in runners]
