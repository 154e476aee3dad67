"""``Event``: a flag processes and threads wait for (multiprocessing.Event), passable anywhere.

    fields [ flag | wake word ]

``set()`` raises the flag and changes the wake word under the monitor, then wakes every sleeper;
``wait()`` sleeps on the wake word, so a ``set()`` between its check and its sleep is not missed.
"""

from __future__ import annotations

import time
from typing import Any

from corepool.sync._monitor import FIRST_FIELD, Monitor, monitor_segment
from corepool.sync._shared import SharedObject
from corepool.sync.locks import deadline_of

__all__ = ["Event"]

_FLAG, _WAKE = FIRST_FIELD, FIRST_FIELD + 1
_FIELDS = 2


class Event(SharedObject):
    """A flag shared by processes and threads; ``wait(timeout)`` returns whether it is set."""

    def __init__(self) -> None:
        self._register(monitor_segment(_FIELDS))

    def _bind(self, segment: Any) -> None:
        super()._bind(segment)
        self._monitor = Monitor(segment, _FIELDS)
        self._on_collect(self._monitor.release_views)

    def is_set(self) -> bool:
        return bool(self._monitor.fields[_FLAG])

    def set(self) -> None:
        monitor = self._monitor
        with monitor:
            monitor.fields[_FLAG] = 1
            monitor.bump(_WAKE)
            monitor.wake(_WAKE)

    def clear(self) -> None:
        with self._monitor as monitor:
            monitor.fields[_FLAG] = 0

    def wait(self, timeout: float | None = None) -> bool:
        fields = self._monitor.fields
        if fields[_FLAG]:
            return True
        deadline = deadline_of(True, timeout)
        with self._monitor as monitor:
            while not fields[_FLAG]:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                monitor.sleep(_WAKE, deadline)
            return True

    def __repr__(self) -> str:
        state = "set" if self.is_set() else "unset"
        return f"<corepool.Event {state} {self._segment.name}>"
