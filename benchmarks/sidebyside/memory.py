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
