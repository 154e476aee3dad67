"""The run-queue clock that keeps a worker's CPU share right on a busy machine."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from corepool._worker import cpu_clock
from corepool._worker.cpu_clock import RunQueueClock

linux_only = pytest.mark.skipif(
    not Path("/proc/thread-self/schedstat").exists(),
    reason="this kernel has no /proc/thread-self/schedstat (Linux with scheduler statistics): "
    "the clock reads 0 there, which the last test checks",
)


@linux_only
def test_it_reads_this_threads_run_delay() -> None:
    clock = RunQueueClock()
    try:
        before = clock.read()
        # Read through a fresh descriptor: the kernel's own figure, second field in ns.
        fields = Path("/proc/thread-self/schedstat").read_text().split()
        after = clock.read()
        assert before <= int(fields[1]) / 1e9 <= after
    finally:
        clock.close()


@linux_only
def test_each_clock_measures_the_thread_that_made_it() -> None:
    # A thread that only sleeps is never queued for a core: its clock stays put while this
    # thread spins.  (A thread's clock opened elsewhere would follow the other thread.)
    made: list[RunQueueClock] = []
    done = threading.Event()

    def sleeper() -> None:
        made.append(RunQueueClock())
        done.wait(10)

    thread = threading.Thread(target=sleeper)
    thread.start()
    try:
        while not made:
            time.sleep(0.001)
        first = made[0].read()
        deadline = time.perf_counter() + 0.2
        while time.perf_counter() < deadline:
            pass
        assert made[0].read() - first < 0.05
    finally:
        done.set()
        thread.join(10)
        made[0].close()


def test_without_schedstat_it_reads_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_clock, "_SCHEDSTAT", "/nonexistent/schedstat")
    clock = RunQueueClock()
    assert clock.read() == 0.0
    clock.close()
    assert clock.read() == 0.0  # a closed clock reads 0 too, never a stale descriptor
