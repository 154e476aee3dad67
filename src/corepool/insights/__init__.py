"""What a pool can tell about itself: ``statistics()`` snapshots."""

from corepool.insights.statistics import PoolStatistics, WorkerStatistics

__all__ = ["PoolStatistics", "WorkerStatistics"]
