"""How busy the rest of the machine was while a run was measured.

This machine has 2 cores and is shared: other sessions run test suites on it at the same time,
and it is a virtual machine whose host also runs other machines' work.  Both are the largest
source of noise in these tables.  A sampling thread in the orchestrator reads every process's CPU
time a few times a second and adds up what processes *outside* this benchmark's process tree used,
plus the CPU time the host took from this machine while it had work to run (``steal`` in
``/proc/stat``: a run that went 30 % slower with no other process in sight had ~0.2-0.5 cores
stolen).  Processes that live less than one sampling period escape it, so the figure is a lower
bound.
"""

from __future__ import annotations

import os
import threading
import time

import psutil

SAMPLE_SECONDS = 0.25


class ForeignLoad:
    """Cores used by processes that are not this one or its descendants, between two readings."""

    def __init__(self) -> None:
        self._me = os.getpid()
        self._last: dict[int, float] = {}
        self._foreign_cpu = 0.0
        self._last_steal = _stolen_seconds()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="foreign-load", daemon=True)

    def __enter__(self) -> ForeignLoad:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def reading(self) -> tuple[float, float]:
        """(monotonic time, foreign CPU seconds so far); two readings give the average cores."""
        self._sample()
        with self._lock:
            return time.monotonic(), self._foreign_cpu

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self._sample()

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for process in psutil.process_iter(["ppid", "cpu_times"]):
            times = process.info["cpu_times"]
            if times is None:
                continue
            parents[process.pid] = process.info["ppid"] or 0
            cpu[process.pid] = times.user + times.system
        stolen = _stolen_seconds()
        with self._lock:
            for pid, used in cpu.items():
                if not self._is_ours(pid, parents):
                    self._foreign_cpu += max(0.0, used - self._last.get(pid, used))
            self._last = cpu
            self._foreign_cpu += max(0.0, stolen - self._last_steal)
            self._last_steal = stolen

    def _is_ours(self, pid: int, parents: dict[int, int]) -> bool:
        for _ in range(64):  # deeper than any real process tree
            if pid == self._me:
                return True
            if pid <= 1 or pid not in parents:
                return False
            pid = parents[pid]
        return False


def _stolen_seconds() -> float:
    """CPU time the host took from this virtual machine so far (0 where it is not reported)."""
    return float(getattr(psutil.cpu_times(), "steal", 0.0))


def cores_between(first: tuple[float, float], second: tuple[float, float]) -> float:
    elapsed = second[0] - first[0]
    return (second[1] - first[1]) / elapsed if elapsed > 0 else 0.0
