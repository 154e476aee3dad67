"""Advice from measured numbers (``insights.report.suggest``) as a pure function."""

from __future__ import annotations

from corepool.insights.report import WorkerInsight, suggest


def _worker(index: int, cpu: float, queued: float) -> WorkerInsight:
    return WorkerInsight(
        index=index,
        tasks=50,
        chunks=50,
        busy_seconds=1.0,
        waiting_seconds=0.0,
        io_seconds=0.0,
        transit_seconds=0.0,
        cpu_seconds=cpu,
        queued_seconds=queued,
    )


def test_cpu_bound_processes_on_a_busy_machine_are_not_told_to_use_threads() -> None:
    # 85 % of each second queued behind other programs, CPU for the rest: CPU-bound.
    loaded = (_worker(0, 0.14, 0.85), _worker(1, 0.14, 0.85))
    assert loaded[0].cpu_share > 0.9
    assert not [a for a in suggest("processes", loaded, False) if "threads" in a]


def test_waiting_processes_are_told_to_use_threads() -> None:
    waiting = (_worker(0, 0.02, 0.0), _worker(1, 0.02, 0.0))
    assert [a for a in suggest("processes", waiting, False) if "threads" in a]
