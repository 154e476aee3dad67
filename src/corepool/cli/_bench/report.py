"""What ``corepool bench`` shows: a table per workload of times and speed-ups against the worker
count, or the same numbers as JSON."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from corepool import __version__
from corepool.cli._bench.measure import SERIAL, Measurement
from corepool.cli._bench.workloads import Workload


@dataclass(frozen=True)
class Line:
    """One measurement, summarised: a workload in one mode at one worker count."""

    workload: str
    mode: str
    workers: int
    tasks: int
    seconds: float
    """The fastest of the repetitions (``Measurement.fastest`` says why)."""
    median: float
    fastest: float
    slowest: float
    start_seconds: float | None
    speedup: float
    """The workload's serial time over this time."""
    runs: tuple[float, ...]


def lines(workloads: Sequence[Workload], measurements: Sequence[Measurement]) -> list[Line]:
    tasks = {workload.name: workload.tasks for workload in workloads}
    serial = {m.workload: m.fastest for m in measurements if m.mode == SERIAL}
    return [
        Line(
            workload=m.workload,
            mode=m.mode,
            workers=m.workers,
            tasks=tasks[m.workload],
            seconds=m.fastest,
            median=m.median,
            fastest=min(m.run_seconds),
            slowest=max(m.run_seconds),
            start_seconds=m.start_seconds,
            speedup=serial[m.workload] / m.fastest if m.workload in serial else math.nan,
            runs=tuple(m.run_seconds),
        )
        for m in measurements
    ]


def modes_of(rows: Sequence[Line]) -> list[str]:
    """The pool modes in these rows, in the order measured."""
    return list(dict.fromkeys(row.mode for row in rows if row.mode != SERIAL))


def table(rows: Sequence[Line]) -> str:
    """One block per workload: its serial time, then a row per worker count with each pool
    mode's time and speed-up, then the pools' start-up times."""
    workloads = list(dict.fromkeys(row.workload for row in rows))
    return "\n\n".join(_block([row for row in rows if row.workload == w]) for w in workloads)


def _block(rows: Sequence[Line]) -> str:
    modes = modes_of(rows)
    serial = [row for row in rows if row.mode == SERIAL]
    found = {(row.mode, row.workers): row for row in rows}
    counts = sorted({row.workers for row in rows if row.mode != SERIAL})
    headers = ["workers"] + [f"{text}" for mode in modes for text in (f"{mode} (s)", "speed-up")]
    cells = [headers]
    for workers in counts:
        cells.append([str(workers)] + [c for mode in modes for c in _cells(found, mode, workers)])
    text = [
        f"{rows[0].workload}: serial {seconds(serial[0].seconds)} s" if serial else rows[0].workload
    ]
    text += ["  " + line for line in aligned(cells)]
    starts = [_start_range(rows, mode) for mode in modes]
    text.append("  start-up of the pools (s): " + ", ".join(starts))
    return "\n".join(text)


def _cells(found: dict[tuple[str, int], Line], mode: str, workers: int) -> list[str]:
    row = found.get((mode, workers))
    return ["-", "-"] if row is None else [seconds(row.seconds), speedup(row.speedup)]


def seconds(value: float) -> str:
    """Three decimals, or three significant digits below 0.1 s (tiny tasks of your own)."""
    return f"{value:.3f}" if value >= 0.1 else f"{value:.3g}"


def speedup(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def _start_range(rows: Sequence[Line], mode: str) -> str:
    starts = [row.start_seconds for row in rows if row.mode == mode and row.start_seconds]
    if not starts:
        return f"{mode} -"
    return f"{mode} {min(starts):.3f}-{max(starts):.3f}"


def aligned(cells: Sequence[Sequence[str]]) -> list[str]:
    """Right-aligned columns two spaces apart, with a rule of dashes under the header."""
    widths = [max(len(line[column]) for line in cells) for column in range(len(cells[0]))]
    text = []
    for number, line in enumerate(cells):
        text.append("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            text.append("  ".join("-" * width for width in widths))
    return text


@dataclass(frozen=True)
class Machine:
    """What the figures were measured on."""

    cores: int
    load: float | None = None
    """The 1-minute load average when the bench started (``os.getloadavg``), where known."""

    def describe(self) -> str:
        """``2 cores, CPython 3.11.7, Linux x86_64``."""
        return (
            f"{self.cores} core{'s' if self.cores != 1 else ''}, "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}"
        )


def heading(workloads: Sequence[Workload], repeat: int, machine: Machine) -> str:
    described = "\n".join(
        f"  {w.name:<4} {w.description}, on {_ladder(w.ladder)} workers" for w in workloads
    )
    return (
        f"corepool {__version__} bench: serial, threads and processes on this machine "
        f"({machine.describe()}{_load(machine.load)})\n{described}\n"
        f"time: the fastest of {repeat} run{'s' if repeat != 1 else ''} of one map over the "
        f"workload (start-up, paid once per pool, is not in it)\nspeed-up: serial time / time\n"
    )


def _load(load: float | None) -> str:
    return "" if load is None else f", load average {load:.1f} before it started"


def _ladder(ladder: Sequence[int]) -> str:
    return ", ".join(str(n) for n in ladder)


def as_json(
    workloads: Sequence[Workload],
    rows: Sequence[Line],
    repeat: int,
    machine: Machine,
    advice: Sequence[Any] = (),
) -> str:
    """The numbers for other tools; ``advice`` is ``advice.Advice`` dataclasses (not imported
    here: advice reads this module's lines)."""
    return json.dumps(
        {
            "corepool": __version__,
            "python": platform.python_version(),
            "cores": machine.cores,
            "load_average": machine.load,
            "repeat": repeat,
            "workloads": [
                {
                    "name": w.name,
                    "description": w.description,
                    "tasks": w.tasks,
                    "workers": list(w.ladder),
                    "seconds_per_task": w.seconds_per_task,
                }
                for w in workloads
            ],
            "results": [asdict(row) for row in rows],
            "advice": [asdict(item) for item in advice],
        },
        indent=2,
    )
