"""The memory of this process, from the kernel's own accounting."""

from __future__ import annotations

import resource
import subprocess
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


def tree_pss_mb(root: int | None = None, leave_out: int | None = None) -> float:
    """Summed proportional set size of a process (this one by default) and all its descendants
    (but ``leave_out``), at one instant.

    The descendants, and ``root`` when it is another process, are paused (SIGSTOP) while they
    are read: PSS splits a shared page among the processes mapping it at the moment it is read,
    so a worker mapping or unmapping a segment between two readings would make the sum count its
    pages twice.
    """
    import os

    import psutil

    top = psutil.Process(root)
    processes = [top, *top.children(recursive=True)]
    paused = []
    try:
        for process in processes:
            if process.pid in (os.getpid(), leave_out):
                continue
            try:
                process.suspend()
                paused.append(process)
            except psutil.NoSuchProcess:
                pass
        total = 0
        for process in processes:
            if process.pid == leave_out:
                continue
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
    """``tree_pss_mb`` of this process's tree sampled every 10 ms, from ``__enter__`` to
    ``__exit__``, by another process (``pss_sampler``).

    Not a thread of this process: a program with a second thread is another program to a pool
    (corepool shares a large array in place only while nothing but the waiting caller runs,
    ``shared/_in_place.py``), and the sampler would change what it measures.
    """

    def __init__(self) -> None:
        self.peak = 0.0
        self._sampler: subprocess.Popen[str] | None = None

    def __enter__(self) -> PeakTreePss:
        import os

        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self._sampler = subprocess.Popen(
            [sys.executable, "-m", "sidebyside.pss_sampler", str(os.getpid())],
            cwd=here,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._sampler.stdout is not None
        self.peak = float(self._sampler.stdout.readline())  # its first sample: it runs
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._sampler is not None
        out, _ = self._sampler.communicate("stop\n", timeout=60)
        self.peak = max(self.peak, float(out.split()[-1]))
