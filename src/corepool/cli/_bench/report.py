"""What ``corepool bench`` shows: a table of times and speed-ups, or the same as JSON."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from corepool import __version__
from corepool.cli._bench.measure import Measurement
from corepool.cli._bench.workloads import Workload


@dataclass(frozen=True)
class Line:
    """One line of the table: a workload in one mode."""

    workload: str
    mode: str
    workers: int
    tasks: int
    seconds: float
    """Median over the repetitions."""
    fastest: float
    slowest: float
    start_seconds: float | None
    speedup: float
    """The workload's serial median over this median."""
    runs: tuple[float, ...]


def lines(workloads: Sequence[Workload], measurements: Sequence[Measurement]) -> list[Line]:
    tasks = {workload.name: workload.tasks for workload in workloads}
    serial = {m.workload: m.median for m in measurements if m.mode == "serial"}
    return [
        Line(
            workload=m.workload,
            mode=m.mode,
            workers=m.workers,
            tasks=tasks[m.workload],
            seconds=m.median,
            fastest=min(m.run_seconds),
            slowest=max(m.run_seconds),
            start_seconds=m.start_seconds,
            speedup=serial[m.workload] / m.median if m.workload in serial else float("nan"),
            runs=tuple(m.run_seconds),
        )
        for m in measurements
    ]


HEADERS = ("workload", "mode", "workers", "time (s)", "min-max (s)", "start-up (s)", "speed-up")


def table(rows: Sequence[Line]) -> str:
    cells = [HEADERS] + [
        (
            row.workload,
            row.mode,
            str(row.workers),
            f"{row.seconds:.3f}",
            f"{row.fastest:.3f}-{row.slowest:.3f}",
            "-" if row.start_seconds is None else f"{row.start_seconds:.3f}",
            f"{row.speedup:.2f}x",
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(HEADERS))]
    text = []
    for number, line in enumerate(cells):
        aligned = (
            cell.ljust(width) if column < 2 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        text.append("  ".join(aligned))
        if number == 0:
            text.append("  ".join("-" * width for width in widths))
    return "\n".join(text)


def heading(workloads: Sequence[Workload], repeat: int, cores: int) -> str:
    described = "\n".join(
        f"  {w.name:<4} {w.description}, on {w.workers} workers" for w in workloads
    )
    return (
        f"corepool {__version__} bench: threads and processes on this machine "
        f"({cores} cores, Python {platform.python_version()})\n{described}\n"
        f"time: median of {repeat} run{'s' if repeat != 1 else ''} of one map over the workload "
        f"(start-up, paid once per pool, is not in it)\nspeed-up: serial time / time\n"
    )


def as_json(workloads: Sequence[Workload], rows: Sequence[Line], repeat: int, cores: int) -> str:
    return json.dumps(
        {
            "corepool": __version__,
            "python": platform.python_version(),
            "cores": cores,
            "repeat": repeat,
            "workloads": [
                {
                    "name": w.name,
                    "description": w.description,
                    "tasks": w.tasks,
                    "workers": w.workers,
                    "seconds_per_task": w.seconds_per_task,
                }
                for w in workloads
            ],
            "results": [asdict(row) for row in rows],
        },
        indent=2,
    )
