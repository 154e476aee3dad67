"""Telling whether the kernel's out-of-memory killer ended a worker.

A worker killed by the OOM killer just looks SIGKILLed.  The memory cgroup counts the processes it
killed (cgroup v2: ``oom_kill`` in ``memory.events``; v1: ``oom_kill`` in ``memory.oom_control``),
so when a worker dies by SIGKILL and that count rose since the last look, the error says so.  The
count covers the whole cgroup, hence the careful wording of the message; where no counter can be
read (no cgroup, another OS), nothing is claimed.
"""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    ("memory.events", "oom_kill"),
    ("memory.oom_control", "oom_kill"),
)


class OomWatch:
    def __init__(self, path: Path, field: str) -> None:
        self._path = path
        self._field = field
        self._last = self._read()

    @classmethod
    def for_this_process(cls) -> OomWatch | None:
        for directory in _cgroup_directories():
            for name, field in _CANDIDATES:
                path = directory / name
                if path.is_file():
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
            text = self._path.read_text()
        except OSError:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == self._field and value.strip().isdigit():
                return int(value)
        return None


def _cgroup_directories() -> list[Path]:
    root = Path("/sys/fs/cgroup")
    found: list[Path] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        _, controllers, relative = line.split(":", 2)
        relative = relative.lstrip("/")
        if controllers == "":  # cgroup v2
            found += [root / relative, root]
        elif "memory" in controllers.split(","):
            found += [root / "memory" / relative, root / "memory"]
    return found
