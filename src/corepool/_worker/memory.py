"""A worker's resident memory, measured cheaply after each chunk when the pool has a limit."""

from __future__ import annotations

import os

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_memory() -> int:
    """Resident set size of this process in bytes (~5 µs on Linux: one small /proc read)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:  # not Linux
        import psutil

        return int(psutil.Process().memory_info().rss)
