"""From the runs' raw results to each row's median, min, max and extras."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
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
    return RowStats(
        label, len(ok), statistics.median(seconds), min(seconds), max(seconds), extras, errors
    )


def workload_stats(
    workload: Workload, runs: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, RowStats]:
    stats = {row.label: row_stats(row.label, runs.get(row.label, ())) for row in workload.rows}
    if workload.annotate is not None:
        for label, extras in workload.annotate(stats).items():
            stats[label] = replace(stats[label], extras={**stats[label].extras, **extras})
    return stats


def ratio(workload: Workload, stats: Mapping[str, RowStats], label: str) -> float:
    """The row's median time over its corepool row's: above 1, corepool is faster."""
    reference = workload.row(label).compare_with or workload.reference
    return stats[label].median / stats[reference].median
