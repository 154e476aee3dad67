"""Telling whether the kernel's out-of-memory killer ended a worker.

A worker killed by the OOM killer just looks SIGKILLed.  The memory cgroup counts the processes it
killed (cgroup v2: ``oom_kill`` in ``memory.events``; v1: ``oom_kill`` in ``memory.oom_control``),
so when a worker dies by SIGKILL and that count rose since the last look, the error says so.  The
count covers the whole cgroup, hence the careful wording of the message; where no counter can be
read (no cgroup, another OS), nothing is claimed.
"""

from __future__ import annotations

import os

# Paths as ``str`` and ``os.path``: ``pathlib`` (~5 ms to import where nothing else did) for a few
# file reads at each pool's start would be paid by every program's first pool.

_CANDIDATES = (
    ("memory.events", "oom_kill"),
    ("memory.oom_control", "oom_kill"),
)


class OomWatch:
    def __init__(self, path: str | os.PathLike[str], field: str) -> None:
        self._path = path
        self._field = field
        self._last = self._read()

    @classmethod
    def for_this_process(cls) -> OomWatch | None:
        for directory in _cgroup_directories():
            for name, field in _CANDIDATES:
                path = os.path.join(directory, name)
                if os.path.isfile(path):
                    watch = cls(path, field)
                    if watch._last is not None:
                        return watch
        return None

    def killed_since_last(self) -> bool:
        """Whether the cgroup's OOM-kill count rose since the previous call."""
        now = self._read()
        if now is None or self._last is None:
            return False
        rose = now > self._last
        self._last = now
        return rose

    def _read(self) -> int | None:
        try:
            with open(self._path, encoding="utf-8") as file:
                text = file.read()
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == self._field and value.strip().isdigit():
                return int(value)
        return None


def _cgroup_directories() -> list[str]:
    root = "/sys/fs/cgroup"
    found: list[str] = []
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, relative = line.split(":", 2)
        relative = relative.lstrip("/")
        if controllers == "":  # cgroup v2
            found += [os.path.join(root, relative), root]
        elif "memory" in controllers.split(","):
            memory = os.path.join(root, "memory")
            found += [os.path.join(memory, relative), memory]
    return found
