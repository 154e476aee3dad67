"""One 256 MB NumPy array passed to 16 tasks on 2 workers: time and memory, side by side.

Contenders (each with warm workers; the timed part is submitting the 16 tasks and getting the
results; every task reads one float per 4 KiB page of the array, so every page is touched):

    corepool automatic    corepool.Pool(2).apply_async(task, (array,)) x 16: the array goes
                          through shared memory, copied once for all 16 tasks
    multiprocessing       multiprocessing.Pool(2).apply_async(task, (array,)) x 16: pickled
                          through a pipe for every task
    joblib memmap         joblib.Parallel(n_jobs=2)(delayed(task)(array) for 16): joblib's
                          automatic memmapping of large arrays (max_nbytes="1M")
    corepool SharedArray  the data lives in a corepool.SharedArray; tasks get it by name

Memory: the peak of the summed proportional set size (psutil ``memory_full_info().pss``) of
this process and all its descendants (workers, forkserver), sampled every 10 ms while the same 16
tasks run a second time; reported as a multiple of the array's size.  The descendants are paused
(SIGSTOP) while a sample is read: PSS divides a shared page among the processes mapping it at the
moment it is read, so readings of processes taken while a worker maps or unmaps an array add up
to more than the memory in use (up to 2x the shared copy: the earlier figures of 2.25x).  The
timed run has no sampler, so pausing costs it nothing.  Each contender makes its own array
(filled in place), so the parent never holds two.  Rounds interleave the contenders.  Run:

    python benchmarks/bench_numpy.py [--rounds 5] [--megabytes 256]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import joblib
import numpy as np
import psutil

import corepool

TASKS = 16
WORKERS = 2


def task(array: Any) -> float:
    return float(np.asarray(array)[::512].sum())  # float64: one read per 4 KiB page


class PeakMemory:
    """Samples the summed PSS of this process and its descendants until stopped."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)

    def __enter__(self) -> PeakMemory:
        self.peak = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.sample())

    @staticmethod
    def sample() -> int:
        """Summed PSS of this process and its descendants, at one instant: they are paused."""
        me = psutil.Process()
        descendants = me.children(recursive=True)
        paused = []
        try:
            for process in descendants:
                try:
                    process.suspend()
                    paused.append(process)
                except psutil.NoSuchProcess:
                    pass
            total = 0
            for process in [me, *paused]:
                try:
                    total += process.memory_full_info().pss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            return total
        finally:
            for process in paused:
                try:
                    process.resume()
                except psutil.NoSuchProcess:
                    pass


Measurement = tuple[float, int, int]
"""Seconds, peak PSS, and the PSS of the same processes before the array existed (bytes)."""


def _measure(run: Callable[[], list[float]], expected: float, baseline: int) -> Measurement:
    """Time one run of the tasks; then sample memory during a second, untimed run."""
    gc.collect()
    started = time.perf_counter()
    results = run()
    seconds = time.perf_counter() - started
    assert results == [expected] * TASKS, results[:3]
    gc.collect()
    with PeakMemory() as memory:
        results = run()
    assert results == [expected] * TASKS, results[:3]
    return seconds, memory.peak, baseline


def corepool_automatic(items: int) -> Measurement:
    with corepool.Pool(WORKERS) as pool:
        pool.apply(task, (np.ones(8),))  # workers up
        baseline = PeakMemory.sample()
        array = np.full(items, 1.5)
        expected = task(array)
        result = _measure(
            lambda: [r.get() for r in [pool.apply_async(task, (array,)) for _ in range(TASKS)]],
            expected,
            baseline,
        )
        return result


def multiprocessing_pickling(items: int) -> Measurement:
    context = multiprocessing.get_context("forkserver")
    with context.Pool(WORKERS) as pool:
        pool.apply(task, (np.ones(8),))
        baseline = PeakMemory.sample()
        array = np.full(items, 1.5)
        expected = task(array)
        return _measure(
            lambda: [r.get() for r in [pool.apply_async(task, (array,)) for _ in range(TASKS)]],
            expected,
            baseline,
        )


def joblib_memmap(items: int) -> Measurement:
    with joblib.parallel_config(backend="loky", n_jobs=WORKERS):
        parallel = joblib.Parallel(max_nbytes="1M")
        parallel(joblib.delayed(task)(np.ones(8)) for _ in range(WORKERS))  # workers up
        baseline = PeakMemory.sample()
        array = np.full(items, 1.5)
        expected = task(array)
        result = _measure(
            lambda: list(parallel(joblib.delayed(task)(array) for _ in range(TASKS))),
            expected,
            baseline,
        )
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    return result


def corepool_shared_array(items: int) -> Measurement:
    with corepool.Pool(WORKERS) as pool, corepool.SharedArray(items) as shared:
        pool.apply(task, (np.ones(8),))
        baseline = PeakMemory.sample()
        shared.array.fill(1.5)
        expected = task(shared)
        return _measure(
            lambda: [r.get() for r in [pool.apply_async(task, (shared,)) for _ in range(TASKS)]],
            expected,
            baseline,
        )


CONTENDERS: dict[str, Callable[[int], Measurement]] = {
    "corepool automatic": corepool_automatic,
    "multiprocessing (pickle per task)": multiprocessing_pickling,
    "joblib memmap": joblib_memmap,
    "corepool SharedArray": corepool_shared_array,
}


def run(rounds: int, items: int) -> dict[str, list[Measurement]]:
    results: dict[str, list[Measurement]] = {name: [] for name in CONTENDERS}
    for round_ in range(rounds):
        for name, contender in CONTENDERS.items():
            results[name].append(contender(items))
            gc.collect()
        print(
            f"round {round_ + 1}/{rounds}: "
            + ", ".join(f"{name} {values[-1][0]:.2f}s" for name, values in results.items()),
            file=sys.stderr,
        )
    return results


def _summary(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def report(results: dict[str, list[Measurement]], rounds: int, megabytes: int) -> str:
    size = megabytes * 1e6
    reference = [value[0] for value in results["corepool automatic"]]
    lines = [
        f"# One {megabytes} MB array to {TASKS} tasks on {WORKERS} workers",
        "",
        f"Python {platform.python_version()}, NumPy {np.__version__}, joblib {joblib.__version__},"
        f" {multiprocessing.cpu_count()} cores, {rounds} rounds, warm workers. Median (min-max).",
        "Time: submit the 16 tasks and get the 16 results. Memory: peak summed PSS of the parent",
        "and all its descendants while the 16 tasks run again (untimed), as a multiple of the",
        "array's size: *peak* includes the interpreters (parent, workers, forkserver: ~0.3-0.4x",
        "of 256 MB); *added* is the peak minus the same processes' PSS just before the array was",
        "made (the parent's array itself counts in both). Descendants are paused while a sample",
        "is read, so the per-process figures add up at one instant (unpaused, a worker mapping or",
        "unmapping an array between two readings made a sum count its pages twice).",
        f"Command: `python benchmarks/bench_numpy.py --rounds {rounds} --megabytes {megabytes}`",
        "",
        "| contender | seconds | time / corepool automatic | peak PSS / array "
        "| added PSS / array |",
        "|---|---|---|---|---|",
    ]
    for name, values in results.items():
        seconds = [value[0] for value in values]
        memory = [value[1] / size for value in values]
        added = [(value[1] - value[2]) / size for value in values]
        ratios = [mine / ours for mine, ours in zip(seconds, reference, strict=True)]
        lines.append(
            f"| {name} | {_summary(seconds, '.3f')} | {_summary(ratios, '.1f')}x | "
            f"{_summary(memory, '.2f')}x | {_summary(added, '.2f')}x |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--out", default="benchmarks/results/numpy.md")
    arguments = parser.parse_args()
    items = arguments.megabytes * 1_000_000 // 8
    text = report(run(arguments.rounds, items), arguments.rounds, arguments.megabytes)
    with open(arguments.out, "w") as out:
        out.write(text)
    print(text)


if __name__ == "__main__":
    main()
