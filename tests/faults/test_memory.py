"""The memory guard recycles a worker that grew too big; a MemoryError is just a task error."""

from __future__ import annotations

from pathlib import Path

import pytest

import corepool
from corepool._engine.limits import WorkerLimits, parse_memory
from corepool._lifecycle.oom import OomWatch
from support import faults, tasks


def test_a_worker_above_the_limit_is_replaced() -> None:
    with corepool.Pool(1, max_memory_per_worker="150MB") as pool:
        first = pool.apply(tasks.where_am_i)[0]
        assert pool.apply(tasks.where_am_i)[0] == first  # small tasks: same worker
        grown = pool.apply(faults.allocate_and_keep, (300,))
        assert grown == first
        assert pool.apply(tasks.where_am_i)[0] != first
        assert pool.statistics().workers_replaced == 1


def test_memory_error_in_a_task_is_that_task_s_error() -> None:
    with corepool.Pool(1, initializer=faults.limit_address_space, initargs=(300,)) as pool:
        with pytest.raises(MemoryError):
            pool.apply(faults.allocate, (2000,))
        assert pool.apply(faults.allocate, (10,)) == 10 * 2**20
        assert pool.statistics().workers_replaced == 0


def test_memory_limit_needs_processes() -> None:
    with pytest.raises(ValueError, match="needs worker processes"):
        corepool.Pool(1, backend="threads", max_memory_per_worker="1GB")


@pytest.mark.parametrize(
    ("text", "size"),
    [("512MB", 512 * 10**6), ("2GiB", 2 * 2**30), ("1.5 GB", 1_500_000_000), (1000, 1000)],
)
def test_memory_sizes(text: str | int, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("bad", ["lots", "12XB", "-5MB", 0, -1])
def test_bad_memory_sizes(bad: str | int) -> None:
    with pytest.raises(ValueError, match="max_memory_per_worker"):
        parse_memory(bad)


def test_limits_say_why() -> None:
    limits = WorkerLimits(max_tasks=10, max_memory=2**20)
    assert limits.exceeded(3, 100) is None
    assert "10 tasks" in (limits.exceeded(10, 100) or "")
    assert "MiB" in (limits.exceeded(1, 2**21) or "")


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("memory.events", "low 0\noom 1\noom_kill 2\n", "low 0\noom 2\noom_kill 3\n"),
        (
            "memory.oom_control",
            "oom_kill_disable 0\noom_kill 0\n",
            "oom_kill_disable 0\noom_kill 1\n",
        ),
    ],
)
def test_oom_kills_are_counted(tmp_path: Path, name: str, before: str, after: str) -> None:
    counter = tmp_path / name
    counter.write_text(before)
    watch = OomWatch(counter, "oom_kill")
    assert not watch.killed_since_last()
    counter.write_text(after)
    assert watch.killed_since_last()
    assert not watch.killed_since_last()
