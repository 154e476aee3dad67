"""When a worker is retired and replaced: after so many tasks, or above so much memory."""

from __future__ import annotations

import re

from corepool._record import Record

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
# Compiled by ``re`` at the first ``parse_memory`` of a string, not at import (every first pool).
_SIZE = r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$"


class WorkerLimits(Record):
    max_tasks: int | None = None
    """Retire a worker after it completed this many tasks (``maxtasksperchild``)."""
    max_memory: int | None = None
    """Retire a worker whose resident memory exceeds this many bytes after a chunk."""

    def exceeded(self, tasks_done: int, rss: int) -> str | None:
        """Why the worker must be retired now, or None."""
        if self.max_tasks is not None and tasks_done >= self.max_tasks:
            return f"it completed {tasks_done} tasks (limit {self.max_tasks})"
        if self.max_memory is not None and rss > self.max_memory:
            used, limit = rss / 2**20, self.max_memory / 2**20
            return f"its resident memory {used:.0f} MiB exceeds {limit:.0f} MiB"
        return None


def parse_memory(value: int | str | None) -> int | None:
    """Bytes from ``500_000_000``, ``"500MB"`` or ``"1.5GiB"``; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("max_memory_per_worker must be a number of bytes or a size like '2GB'")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = re.match(_SIZE, value)
        unit = match.group(2).upper() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(
                f"max_memory_per_worker: cannot read {value!r}; write bytes or a size like "
                "'512MB' or '2GiB'"
            )
        size = int(float(match.group(1)) * _UNITS[unit])
    else:
        raise TypeError("max_memory_per_worker must be a number of bytes or a size like '2GB'")
    if size <= 0:
        raise ValueError(f"max_memory_per_worker must be positive, got {value!r}")
    return size
