"""What a pool can tell about itself: statistics() snapshots, insights() reports, progress."""

from corepool.insights.report import PoolInsights, SlowTask, WorkerInsight
from corepool.insights.statistics import PoolStatistics, WorkerStatistics

__all__ = ["PoolInsights", "PoolStatistics", "SlowTask", "WorkerInsight", "WorkerStatistics"]
