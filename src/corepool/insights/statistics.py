"""Frozen snapshots returned by ``pool.statistics()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

WorkerState = Literal["starting", "idle", "busy", "stopping"]


@dataclass(frozen=True)
class WorkerStatistics:
    index: int
    """Position in the pool, from 0; a replacement worker takes over its predecessor's index."""
    name: str
    """``corepool-worker-<index>`` (or the executor's thread-name prefix)."""
    pid: int | None
    """The worker's process id; ``None`` for a thread."""
    state: WorkerState
    tasks_done: int
    """Tasks this worker (this process or thread, not its predecessors) completed."""


@dataclass(frozen=True)
class PoolStatistics:
    backend: str
    workers: tuple[WorkerStatistics, ...]
    tasks_queued: int
    """Tasks submitted and waiting for a worker (including delayed ones)."""
    tasks_in_flight: int
    """Tasks handed to workers and not finished yet."""
    tasks_done: int
    """Tasks finished since the pool started (successfully or not)."""
    chunks_done: int
    """Messages (chunks of tasks) workers completed; ``tasks_done / chunks_done`` is the mean
    chunk size that automatic chunking chose."""
    workers_replaced: int
    """Workers that died or were recycled and replaced."""
    backend_choice: str | None = None
    """With ``backend="auto"``: what it chose and why, once it has (``None`` before)."""

    @property
    def busy_workers(self) -> int:
        return sum(1 for worker in self.workers if worker.state == "busy")

    @property
    def idle_workers(self) -> int:
        return sum(1 for worker in self.workers if worker.state == "idle")
