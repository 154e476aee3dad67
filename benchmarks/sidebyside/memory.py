"""The memory of this process, from the kernel's own accounting."""

from __future__ import annotations

import resource
import sys

_MB = 1024 * 1024


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    """Highest resident set size of this process so far.

    ``VmHWM`` belongs to the address space, which ``exec`` replaces, so a fresh subprocess starts
    from zero; ``ru_maxrss`` survives ``exec`` on Linux and could report the orchestrator's size.
    """
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MB if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib / 1024
    import psutil

    return float(psutil.Process().memory_info().rss) / _MB


def tree_pss_mb() -> float:
    """Summed proportional set size of this process and all its descendants, at one instant.

    The descendants are paused (SIGSTOP) while they are read: PSS splits a shared page among the
    processes mapping it at the moment it is read, so a worker mapping or unmapping a segment
    between two readings would make the sum count its pages twice.
    """
    import psutil

    me = psutil.Process()
    paused = []
    try:
        for process in me.children(recursive=True):
            try:
                process.suspend()
                paused.append(process)
            except psutil.NoSuchProcess:
                pass
        total = 0
        for process in [me, *paused]:
            try:
                total += process.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total / _MB
    finally:
        for process in paused:
            try:
                process.resume()
            except psutil.NoSuchProcess:
                pass


class PeakTreePss:
    """``tree_pss_mb`` sampled every 10 ms on a thread, from ``__enter__`` to ``__exit__``."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)

    def __enter__(self) -> PeakTreePss:
        self.peak = tree_pss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_pss_mb())

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, tree_pss_mb())
