"""From the runs' raw results to each row's median, min, max and extras, and rows compared.

Rows are compared round by round (``paired``): in each repetition every row of a workload runs
within seconds of the others, so the ratio of two rows' times *in the same repetition* keeps
little of the machine's slow and fast spells, which on this 2-core virtual machine move a
row's time by tens of percent from one minute to the next; the median of those ratios is the
comparison.  A ratio of the two rows' medians taken over all repetitions (the figure used
before) mixes spells: with 7 repetitions it turned rows that differ by less than ~10-15 %
around from one run to the next.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sidebyside.model import RowStats, Workload

# Numbers a runner returns that describe the run itself rather than the workload.
_NOT_EXTRAS = {"seconds", "child_seconds"}


def row_stats(label: str, runs: Sequence[Mapping[str, Any]]) -> RowStats:
    ok = [run for run in runs if "error" not in run]
    errors = tuple(sorted({str(run["error"]) for run in runs if "error" in run}))
    if not ok:
        nan = float("nan")
        return RowStats(label, 0, nan, nan, nan, errors=errors)
    seconds = [float(run["seconds"]) for run in ok]
    keys = {
        key
        for run in ok
        for key, value in run.items()
        if key not in _NOT_EXTRAS and isinstance(value, (int, float))
    }
    extras = {key: statistics.median(float(run[key]) for run in ok if key in run) for key in keys}
    nan = float("nan")
    rounds = {
        key: tuple(float(run[key]) if "error" not in run and key in run else nan for run in runs)
        for key in keys | {"seconds"}
    }
    return RowStats(
        label,
        len(ok),
        statistics.median(seconds),
        min(seconds),
        max(seconds),
        extras,
        errors,
        rounds,
    )


@dataclass(frozen=True)
class Paired:
    """One row's number over another's, repetition by repetition."""

    median: float
    low: float
    high: float
    rounds: int

    def text(self) -> str:
        if self.rounds == 0:
            return "no repetition with both rows"
        return f"x{self.median:.2f} round by round ({self.low:.2f}-{self.high:.2f})"


def paired(top: RowStats, bottom: RowStats, key: str = "seconds") -> Paired:
    """The median over the repetitions of ``top``'s ``key`` over ``bottom``'s in the same one
    (repetitions where either row failed are left out), with the lowest and highest ratio."""
    ratios = [
        a / b
        for a, b in zip(top.rounds.get(key, ()), bottom.rounds.get(key, ()), strict=False)
        if not math.isnan(a) and not math.isnan(b) and b != 0
    ]
    if not ratios:
        nan = float("nan")
        return Paired(nan, nan, nan, 0)
    return Paired(statistics.median(ratios), min(ratios), max(ratios), len(ratios))


def workload_stats(
    workload: Workload, runs: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, RowStats]:
    stats = {row.label: row_stats(row.label, runs.get(row.label, ())) for row in workload.rows}
    if workload.annotate is not None:
        for label, extras in workload.annotate(stats).items():
            stats[label] = replace(stats[label], extras={**stats[label].extras, **extras})
    return stats


def ratio(workload: Workload, stats: Mapping[str, RowStats], label: str) -> float:
    """The row's time over its corepool row's, round by round: above 1, corepool is faster."""
    reference = workload.row(label).compare_with or workload.reference
    return paired(stats[label], stats[reference]).median
