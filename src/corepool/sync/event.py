"""``Event``: a flag processes and threads wait for (multiprocessing.Event), passable anywhere.

    fields [ flag | wake word | sleepers ]

``set()`` raises the flag and changes the wake word under the monitor, then wakes every sleeper
(only when ``sleepers`` says there is one: the wake is a system call); ``wait()`` counts itself
in ``sleepers`` and sleeps on the wake word, so a ``set()`` between its check and its sleep is
not missed.  A sleeper killed while counted only costs later ``set()`` calls a useless wake.

``set``, ``clear`` and ``is_set`` come from ``EventCore`` (``_lock_cores``): one C call each when
the extension is built, ``_set_slowly`` / ``_clear_slowly`` below when the monitor is busy and
always on the ctypes backend.
"""

from __future__ import annotations

import time
from typing import Any

from corepool.sync._lock_cores import EventCore
from corepool.sync._monitor import FIRST_FIELD, Monitor, monitor_segment
from corepool.sync._native import MUTEX_BYTES
from corepool.sync._shared import SharedObject
from corepool.sync.locks import deadline_of

__all__ = ["Event"]

_FLAG, _WAKE, _SLEEPERS = FIRST_FIELD, FIRST_FIELD + 1, FIRST_FIELD + 2
_FIELDS = 3


class Event(SharedObject, EventCore):
    """A flag shared by processes and threads; ``wait(timeout)`` returns whether it is set."""

    def __init__(self) -> None:
        self._register(monitor_segment(_FIELDS))

    def _bind(self, segment: Any) -> None:
        super()._bind(segment)
        self._monitor = Monitor(segment, _FIELDS)
        self._attach(segment.buf[: MUTEX_BYTES + 8 * (FIRST_FIELD + _FIELDS)])
        self._on_collect(self._monitor.release_views)

    def _is_set(self) -> bool:
        return bool(self._monitor.fields[_FLAG])

    def _set_slowly(self) -> None:
        monitor = self._monitor
        with monitor:
            monitor.fields[_FLAG] = 1
            monitor.bump(_WAKE)
            sleepers = monitor.fields[_SLEEPERS]
        if sleepers:  # the word changed under the mutex: no sleeper can miss this wake
            monitor.wake(_WAKE)

    def _clear_slowly(self) -> None:
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
                fields[_SLEEPERS] += 1
                try:
                    monitor.sleep(_WAKE, deadline)
                finally:
                    fields[_SLEEPERS] -= 1
            return True

    def __repr__(self) -> str:
        # multiprocessing.synchronize.Event's form (3.11 to 3.13): programs and CPython's tests
        # match it.  The segment is named by ``_segment.name``.
        state = "set" if self.is_set() else "unset"
        return f"<{type(self).__qualname__} at {id(self):#x} {state}>"
