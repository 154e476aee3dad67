"""The PNG of ``corepool bench``: time and speed-up against the worker count, per workload.

matplotlib is optional (``pip install 'corepool[plot]'``): ``available()`` says whether it can be
imported, and ``draw`` imports it only when called, with the non-interactive Agg backend so that
it works without a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from corepool.cli._bench.measure import SERIAL
from corepool.cli._bench.report import Line, modes_of

INSTALL_HINT = "pip install 'corepool[plot]' (matplotlib) to get these numbers as a PNG plot"
# 10 x 7 inches at 80 dpi: 800 x 560 pixels, ~60 KB, readable on a laptop screen and in the docs.
FIGURE_INCHES = (10.0, 7.0)
DPI = 80
STYLES = {"threads": "o-", "processes": "s-", "interpreters": "^-"}


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(
    rows: Sequence[Line], title: str, path: Path, described: Mapping[str, str] | None = None
) -> Path:
    """Draws time (top) and speed-up (bottom) against workers, a column per workload;
    ``described`` titles each column (workload name -> words), else its name and task count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(row.workload for row in rows))
    figure, axes = plt.subplots(
        2, len(workloads), figsize=FIGURE_INCHES, squeeze=False, constrained_layout=True
    )
    try:
        for column, workload in enumerate(workloads):
            mine = [row for row in rows if row.workload == workload]
            _times(axes[0][column], mine)
            default = f"{workload}: {mine[0].tasks} tasks"
            axes[0][column].set_title((described or {}).get(workload, default), fontsize="medium")
            _speedups(axes[1][column], mine)
        figure.suptitle(title)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=DPI)
    finally:
        plt.close(figure)
    return path


def _times(axis: Any, rows: Sequence[Line]) -> None:
    counts = _counts(rows)
    for mode in modes_of(rows):
        mine = sorted((row for row in rows if row.mode == mode), key=lambda r: r.workers)
        axis.plot(
            [r.workers for r in mine], [r.seconds for r in mine], STYLES.get(mode, "d-"), label=mode
        )
    for row in rows:
        if row.mode == SERIAL:
            axis.axhline(row.seconds, color="grey", linestyle="--", label="serial")
    axis.set_ylabel("time (s, fastest run; lower is better)")
    axis.set_ylim(0, 1.1 * max(row.seconds for row in rows))  # the serial line clear of the top
    _workers_axis(axis, counts)


def _speedups(axis: Any, rows: Sequence[Line]) -> None:
    counts = _counts(rows)
    for mode in modes_of(rows):
        mine = sorted((row for row in rows if row.mode == mode), key=lambda r: r.workers)
        axis.plot(
            [r.workers for r in mine], [r.speedup for r in mine], STYLES.get(mode, "d-"), label=mode
        )
    axis.plot(counts, counts, ":", color="grey", label="ideal (= workers)")
    axis.axhline(1.0, color="grey", linestyle="--", label="serial")
    axis.set_ylabel("speed-up over serial (higher is better)")
    axis.set_ylim(bottom=0)
    _workers_axis(axis, counts)


def _counts(rows: Sequence[Line]) -> list[int]:
    return sorted({row.workers for row in rows if row.mode != SERIAL}) or [1]


def _workers_axis(axis: Any, counts: Sequence[int]) -> None:
    axis.set_xscale("log", base=2)
    axis.set_xticks(list(counts), [str(n) for n in counts])
    axis.minorticks_off()
    axis.set_xlabel("workers")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small")
