"""A loop of single tasks: ``apply_async`` and ``submit`` of a trivial function, side by side.

A program that submits its work one call at a time (a ``for`` loop over ``submit`` or
``apply_async``, then waits for every result) meets the cost of one task in the parent: every
task is its own job and its own message, with nothing to batch.  Measured in one process,
pools started once and warmed up, rows interleaved round by round, 2 workers:

* *tasks/s*: ``n`` calls of ``square(i)`` submitted in a loop, then every result waited for;
  the median over the rounds;
* *parent CPU per task*: ``time.process_time()`` of the parent (all its threads) over the same
  loop, divided by ``n``; the median over the rounds.

Rows: ``corepool.Pool.apply_async`` against ``multiprocessing.Pool.apply_async`` (its default
start method), ``corepool.ProcessPoolExecutor.submit`` against
``concurrent.futures.ProcessPoolExecutor.submit``.

Run: ``python benchmarks/bench_submit.py [--tasks 4000] [--rounds 7]`` (~30 s).  Writes
benchmarks/results/submit.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import corepool

RESULTS = Path(__file__).resolve().parent / "results" / "submit.md"
WORKERS = 2


def square(x: int) -> int:
    return x * x


def _apply_loop(pool: Any, tasks: int) -> None:
    pending = [pool.apply_async(square, (i,)) for i in range(tasks)]
    for result in pending:
        result.get()


def _submit_loop(executor: Any, tasks: int) -> None:
    pending = [executor.submit(square, i) for i in range(tasks)]
    for future in pending:
        future.result()


def _rows() -> list[tuple[str, Any, Callable[[Any, int], None]]]:
    return [
        ("corepool.Pool.apply_async", corepool.Pool(WORKERS), _apply_loop),
        ("multiprocessing.Pool.apply_async", multiprocessing.Pool(WORKERS), _apply_loop),
        (
            "corepool.ProcessPoolExecutor.submit",
            corepool.ProcessPoolExecutor(WORKERS),
            _submit_loop,
        ),
        (
            "concurrent.futures.ProcessPoolExecutor.submit",
            concurrent.futures.ProcessPoolExecutor(WORKERS),
            _submit_loop,
        ),
    ]


def _close(subject: Any) -> None:
    if hasattr(subject, "shutdown"):
        subject.shutdown()
    else:
        subject.close()
        subject.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4000, help="calls per round and row")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows = _rows()
    rates: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in rows}
    try:
        for _, subject, loop in rows:  # warm: workers up, the function known to them
            loop(subject, 200)
        for _ in range(args.rounds):
            for label, subject, loop in rows:
                started, cpu_started = time.perf_counter(), time.process_time()
                loop(subject, args.tasks)
                seconds = time.perf_counter() - started
                rates[label].append(args.tasks / seconds)
                cpu[label].append((time.process_time() - cpu_started) / args.tasks)
    finally:
        for _, subject, _ in rows:
            _close(subject)
    lines = [
        "# A loop of single tasks",
        "",
        f"`python benchmarks/bench_submit.py --tasks {args.tasks} --rounds {args.rounds}` — "
        f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}. Python {platform.python_version()}, "
        f"{WORKERS} workers, {multiprocessing.cpu_count()} logical cores; corepool "
        f"{corepool.__version__}.",
        "",
        f"{args.tasks} calls of `square(i)` submitted in a loop, then every result waited for; "
        "medians over the rounds, rows interleaved (see the module's docstring).",
        "",
        "| row | tasks/s | min | max | parent CPU per task (µs) |",
        "|---|---|---|---|---|",
    ]
    for label, _, _ in rows:
        lines.append(
            f"| {label} | {statistics.median(rates[label]):.0f} | {min(rates[label]):.0f} "
            f"| {max(rates[label]):.0f} | {statistics.median(cpu[label]) * 1e6:.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
