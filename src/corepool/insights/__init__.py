"""What a pool can tell about itself: statistics() snapshots, insights() reports, progress.

Its names load on first use: ``progress`` is needed by every map call, the reports only by a
program that asks for them (their dataclasses cost ~5-10 ms to import, paid by the first pool).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "PoolInsights": "corepool.insights.report",
    "SlowTask": "corepool.insights.report",
    "WorkerInsight": "corepool.insights.report",
    "PoolStatistics": "corepool.insights.statistics",
    "WorkerStatistics": "corepool.insights.statistics",
}

__all__ = ["PoolInsights", "PoolStatistics", "SlowTask", "WorkerInsight", "WorkerStatistics"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'corepool.insights' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from corepool.insights.report import PoolInsights, SlowTask, WorkerInsight
    from corepool.insights.statistics import PoolStatistics, WorkerStatistics
