"""``corepool bench``: serial, threads or processes, and how many workers, on this machine.

Without a function it runs two workloads: CPU-dense (pure-Python arithmetic, holding the GIL)
and I/O-dense (tasks that wait), each serially, then on pools of threads and of processes across
a ladder of worker counts (1, 2, 4, ... up to the cores; up to 16 for I/O).  With
``module:function --args range:N|FILE`` it runs your function the same way.  It prints a table
of times and speed-ups, draws them as a PNG (with matplotlib: pip install 'corepool[plot]') and
gives advice read from the measurements.  Under a minute on 2 cores (--quick: a few seconds).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from corepool._worker.native_threads import available_cores
from corepool.cli._bench import advice, measure, plot, report, userfn, workloads
from corepool.cli._bench.calibrate import seconds_per_call
from corepool.cli._bench.progress import open_steps

# Serial time each workload is sized to.  On 2 cores with 3 repetitions: CPU 3 x (0.8 serial +
# 2 x 0.8 threads + 0.8 + 0.4 processes) s, I/O 3 x (0.8 serial + ~1.6 threads + ~1.6 processes)
# s, plus calibrating and starting 3 + 31 processes: ~35 s idle; 55 s measured with 1.0 here
# while four other engineers' test suites shared the 2 cores, hence 0.8.
BUDGET_SECONDS = 0.8
QUICK_BUDGET_SECONDS = 0.2
CPU_TASK_SECONDS = 0.025
IO_LATENCY_SECONDS = 0.02
IO_WORKERS = 16
QUICK_IO_WORKERS = 8
# Your function may wait rather than compute: its ladder goes past the cores, to at least this.
USER_WORKERS = 8
DEFAULT_PLOT = "corepool-bench.png"
# A first call shorter than this is timed again a few times: one short timing is mostly noise.
RETIME_BELOW_SECONDS = 0.05


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="serial, threads or processes, and how many workers, on this machine (<1 min)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "function",
        nargs="?",
        metavar="module:function",
        help="your function, imported as `python -m` would (the current directory first)",
    )
    parser.add_argument(
        "--args",
        metavar="range:N|FILE",
        help="your function's arguments: range:N (0..N-1), or a file with one argument per "
        "line (JSON when the file ends in .json/.jsonl/.ndjson, else each line is a string)",
    )
    parser.add_argument("--star", action="store_true", help="call function(*argument)")
    parser.add_argument(
        "--quick", action="store_true", help="smaller workloads and one repetition: a few seconds"
    )
    parser.add_argument(
        "--repeat",
        type=_positive,
        default=None,
        help="repetitions of each run; the table shows the fastest (default 3, quick 1)",
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="the most threads/processes for the CPU-dense workload (default: the cores) and "
        f"for your function (default: the cores, at least {USER_WORKERS})",
    )
    parser.add_argument(
        "--io-workers",
        type=_positive,
        default=None,
        help=f"the most threads/processes for the I/O-dense workload (default {IO_WORKERS}, "
        f"quick {QUICK_IO_WORKERS})",
    )
    _add_output_options(parser)
    parser.set_defaults(handler=run)


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plot",
        metavar="FILE",
        type=Path,
        default=None,
        help=f"where to draw the PNG plot (default with the table: ./{DEFAULT_PLOT})",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not draw the plot")
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="what to print on standard output (default: table)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on standard error")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    if (args.function is None) != (args.args is None):
        return _fail("a function needs --args, and --args a function (module:function)")
    try:
        chosen = _workloads(args)
    except userfn.BenchInputError as error:
        return _fail(str(error))
    except userfn.FirstCallError as error:
        print(error.details, file=sys.stderr, end="")
        print(f"corepool bench: {error}", file=sys.stderr)
        return 1
    return _measure_and_report(args, chosen)


def _fail(message: str) -> int:
    print(f"corepool bench: error: {message}", file=sys.stderr)
    return 2


def _say(args: argparse.Namespace, line: str) -> None:
    if not args.quiet:
        print(f"  {line}", file=sys.stderr, flush=True)


def _workloads(args: argparse.Namespace) -> list[workloads.Workload]:
    cores = available_cores()
    budget = QUICK_BUDGET_SECONDS if args.quick else BUDGET_SECONDS
    if args.function is not None:
        return [_user_workload(args, budget, args.workers or max(cores, USER_WORKERS))]
    _say(args, "calibrating the CPU-dense task")
    io_workers = args.io_workers or (QUICK_IO_WORKERS if args.quick else IO_WORKERS)
    return [
        workloads.cpu_dense(budget, CPU_TASK_SECONDS, args.workers or cores),
        workloads.io_dense(budget, IO_LATENCY_SECONDS, io_workers),
    ]


def _user_workload(args: argparse.Namespace, budget: float, workers: int) -> workloads.Workload:
    fn = userfn.load_function(args.function)
    if args.star:
        fn = userfn.Star(fn)
    arguments = userfn.read_args(args.args, args.star)
    _say(args, f"calling {args.function}({arguments[0]!r:.60}) once, here")
    seconds = userfn.first_call(fn, arguments[0])
    if seconds < RETIME_BELOW_SECONDS:
        seconds = seconds_per_call(fn, arguments[0], samples=5)
    return userfn.user_workload(args.function, fn, arguments, seconds, budget, workers)


def _measure_and_report(args: argparse.Namespace, chosen: list[workloads.Workload]) -> int:
    machine = report.Machine(available_cores(), _load_average())
    repeat = args.repeat or (1 if args.quick else 3)
    modes, notes = measure.pool_modes()
    steps = open_steps(measure.steps_for(chosen, modes, repeat), args.quiet)
    for note in notes:
        steps.note(note)
    try:
        measurements = measure.measure(chosen, repeat, modes, steps)
    except Exception as error:
        if args.function is None:
            raise  # the bench's own workloads: a bug of ours, keep the traceback
        message = f"{type(error).__name__}: {error}"
        print(f"corepool bench: {args.function} failed in a pool: {message}", file=sys.stderr)
        return 1
    finally:
        steps.close()
    rows = report.lines(chosen, measurements)
    advised = [
        advice.advise(
            [row for row in rows if row.workload == w.name], machine, w.more_workers_option
        )
        for w in chosen
    ]
    out = sys.stderr if args.format == "json" else sys.stdout
    if args.format == "json":
        print(report.as_json(chosen, rows, repeat, machine, advised))
    else:
        print(report.heading(chosen, repeat, machine))
        print(report.table(rows))
        print()
        print(advice.text(advised, rows))
        for note in notes:
            print(f"\nnote: {note}")
    described = {w.name: f"{w.name}: {w.description}" for w in chosen}
    _plot(args, rows, machine.cores, described, out)
    return 0


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not on Windows
        return None


def _plot(
    args: argparse.Namespace,
    rows: Sequence[report.Line],
    cores: int,
    described: Mapping[str, str],
    out: TextIO,
) -> None:
    """Draws the plot where asked, and says where it went (or how to get one) on ``out``: after
    the table, or on standard error when standard output is JSON (a plot only with --plot)."""
    path = args.plot or (Path(DEFAULT_PLOT) if args.format == "table" else None)
    if args.no_plot or path is None:
        return
    if not plot.available():
        print(f"\nplot: not drawn: {plot.INSTALL_HINT}", file=out)
        return
    title = f"corepool bench on {report.Machine(cores).describe()}"
    drawn = plot.draw(rows, title, path, described)
    print(f"\nplot: {drawn.resolve()}", file=out)
