"""``corepool bench``: the classic comparison of threads and processes, on this machine.

A CPU-dense workload (pure-Python arithmetic) and an I/O-dense one (tasks that wait), each run
serially, on a pool of threads and on a pool of processes (corepool's own pools), sized from a
quick calibration so that the whole command takes ~20 s (``--quick``: a few seconds).  It prints
one table of times and speed-ups; ``--format json`` prints the same numbers for other tools.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from corepool._worker.native_threads import available_cores
from corepool.cli._bench import measure, report, workloads

# Serial time each workload is sized to.  With 3 repetitions on 2 cores: CPU ~3 x (1.4 serial +
# 1.4 threads + 0.7 processes) s, I/O ~3 x 1.4 s serial plus ~0.1 s pooled, and ~1.5 s to calibrate
# and start 2 + 16 processes: ~20 s in all (measured: 24.7 s with 1.7 s).
BUDGET_SECONDS = 1.4
QUICK_BUDGET_SECONDS = 0.3
CPU_TASK_SECONDS = 0.025
IO_LATENCY_SECONDS = 0.02
IO_WORKERS = 16


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="compare threads and processes on this machine (~20 s)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller workloads and one repetition: a few seconds"
    )
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=None,
        help="repetitions of each run; the table shows the median (default 3, quick 1)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="threads/processes for the CPU-dense workload (default: the cores)",
    )
    parser.add_argument(
        "--io-workers",
        type=_positive,
        default=IO_WORKERS,
        help=f"threads/processes for the I/O-dense workload (default {IO_WORKERS})",
    )
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="what to print on standard output (default: table)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on standard error")
    parser.set_defaults(handler=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    cores = available_cores()
    repeat = args.repeat or (1 if args.quick else 3)
    budget = QUICK_BUDGET_SECONDS if args.quick else BUDGET_SECONDS

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"  {line}", file=sys.stderr, flush=True)

    progress("calibrating the CPU-dense task")
    chosen = [
        workloads.cpu_dense(budget, CPU_TASK_SECONDS, args.workers or cores),
        workloads.io_dense(budget, IO_LATENCY_SECONDS, args.io_workers),
    ]
    measurements = measure.measure(chosen, repeat, progress=progress)
    rows = report.lines(chosen, measurements)
    if args.format == "json":
        print(report.as_json(chosen, rows, repeat, cores))
    else:
        print(report.heading(chosen, repeat, cores))
        print(report.table(rows))
    return 0
