"""Subinterpreters against threads and processes on CPU-bound pure Python, side by side.

Workload: 64 tasks of a pure-Python loop calibrated to ~25 ms each on this machine, 2 workers,
``chunksize=1``; rows serial (a plain loop in this process), ``threads``, ``processes`` and
``interpreters`` (corepool's backends), run round-robin so that a slow spell of the machine falls
on different rows.  Pools are warm (every worker ran a trivial task) before the clock starts.
Then pool start-up: ``Pool(2)``, one trivial task, close and join, per backend.

*others (cores)* is the CPU that processes outside this benchmark used during the rows' runs (the
machine is shared): where it is high, the figures are suspect.

Run: ``python benchmarks/bench_interpreters.py`` on Python 3.13 with backports-interpreters (or
3.14+); about a minute on 2 cores.  Writes benchmarks/results/interpreters.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import corepool

TASKS = 64
TASK_SECONDS = 0.025
WORKERS = 2
REPEAT = 5
BACKENDS = ("threads", "processes", "interpreters")
RESULTS = Path(__file__).parent / "results" / "interpreters.md"


def spin(loops: int) -> int:
    """Pure-Python CPU work: holds its interpreter's GIL the whole time."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def noop(x: int) -> int:
    return x


def calibrate() -> int:
    """Loops of ``spin`` that take about TASK_SECONDS here."""
    loops = 10_000
    while True:
        started = time.perf_counter()
        spin(loops)
        took = time.perf_counter() - started
        if took > 0.01:
            return int(loops * TASK_SECONDS / took)
        loops *= 2


class OthersCpu:
    """CPU used by processes outside this tree while the block runs, in cores."""

    def __enter__(self) -> OthersCpu:
        self._wall = time.perf_counter()
        self._all = _busy_seconds()
        self._ours = _tree_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        wall = time.perf_counter() - self._wall
        others = (_busy_seconds() - self._all) - (_tree_seconds() - self._ours)
        self.cores = max(0.0, others / wall)


def _busy_seconds() -> float:
    import psutil  # here, not at the top: a subinterpreter that imports this module cannot load it

    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def _tree_seconds() -> float:
    import psutil

    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return float(total)


def run_serial(loops: int) -> None:
    for _ in range(TASKS):
        spin(loops)


def run_pool(pool: corepool.Pool, loops: int) -> None:
    results = pool.map(spin, [loops] * TASKS, chunksize=1)
    assert results == [results[0]] * TASKS


def measure_workload(loops: int) -> dict[str, tuple[list[float], list[float]]]:
    pools = {name: corepool.Pool(WORKERS, backend=name) for name in BACKENDS}
    for pool in pools.values():
        pool.map(noop, range(WORKERS * 4), chunksize=1)  # every worker is up
    rows: dict[str, Callable[[], None]] = {"serial": lambda: run_serial(loops)}
    rows.update({name: (lambda pool=pool: run_pool(pool, loops)) for name, pool in pools.items()})
    runs: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in rows}
    order = list(rows)
    for repetition in range(REPEAT):
        for name in order[repetition % len(order) :] + order[: repetition % len(order)]:
            with OthersCpu() as others:
                started = time.perf_counter()
                rows[name]()
                took = time.perf_counter() - started
            runs[name][0].append(took)
            runs[name][1].append(others.cores)
    for pool in pools.values():
        pool.close()
        pool.join()
    return runs


def measure_start() -> dict[str, list[float]]:
    for name in BACKENDS:  # the first pool of each kind pays its imports: not measured
        with corepool.Pool(WORKERS, backend=name) as pool:
            pool.apply(noop, (0,))
    runs: dict[str, list[float]] = {name: [] for name in BACKENDS}
    for _ in range(REPEAT):
        for name in BACKENDS:
            started = time.perf_counter()
            pool = corepool.Pool(WORKERS, backend=name)
            pool.apply(noop, (0,))
            pool.close()
            pool.join()
            runs[name].append(time.perf_counter() - started)
    return runs


def report(
    loops: int,
    work: dict[str, tuple[list[float], list[float]]],
    start: dict[str, list[float]],
) -> str:
    serial = statistics.median(work["serial"][0])
    interp = statistics.median(work["interpreters"][0])
    lines = [
        f"# Subinterpreters on CPU-bound pure Python ({WORKERS} workers, {TASKS} tasks of ~25 ms)",
        "",
        "Command: `python benchmarks/bench_interpreters.py` "
        f"(Python {sys.version.split()[0]}, {REPEAT} runs per row, round-robin; "
        f"`spin({loops})`; the machine has {os.cpu_count()} cores, shared with other "
        "sessions: see *others*).",
        "",
        "| row | median (s) | min (s) | max (s) | speed-up vs serial | interpreters vs row "
        "| others (cores) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (times, others) in work.items():
        median = statistics.median(times)
        lines.append(
            f"| {name} | {median:.3f} | {min(times):.3f} | {max(times):.3f} "
            f"| {serial / median:.2f}x | {median / interp:.2f}x | {statistics.median(others):.2f} |"
        )
    lines += [
        "",
        "*interpreters vs row*: the row's median over the interpreters' median (above 1.00x the "
        "interpreters are faster).",
        "",
        "## Pool start-up: `Pool(2)`, one trivial task, `close()`, `join()`",
        "",
        "| backend | median (ms) | min (ms) | max (ms) |",
        "|---|---|---|---|",
    ]
    for name, times in start.items():
        lines.append(
            f"| {name} | {statistics.median(times) * 1e3:.0f} | {min(times) * 1e3:.0f} "
            f"| {max(times) * 1e3:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    loops = calibrate()
    work = measure_workload(loops)
    start = measure_start()
    text = report(loops, work, start)
    print(text)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
