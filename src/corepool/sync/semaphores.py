"""``Semaphore`` and ``BoundedSemaphore``: passable anywhere, safe when a holder dies.

A semaphore is a counter in a monitor (see ``_monitor``) plus a table of which processes hold
how many units:

    fields [ value | bound | policy | wake word | sleepers | (pid, units) x 64 ]

    acquire / release / with ─▶ SemaphoreCore (_lock_cores) ─ C: uncontended, one call ─▶ done
                                     │ busy monitor, no unit, errors, first unit here; ctypes
                                     ▼
                                _acquire_slowly / _release_slowly (below): the reference path

The C fast path (``_robust.SemaphoreCore``) writes the same journal as the Python path, in the
same order, so a process killed in either is rolled back alike; the field layout is shared with
``_robust_semaphore.c`` (``SEMAPHORE_LAYOUT``, compared by a test).

``acquire`` takes a unit and adds one to the caller's row; ``release`` gives one back and takes
one from the caller's row (a release by a process holding none, as in producer/consumer
signalling, touches no row).  A waiter that has slept a while checks the rows: units held by a
process that has died are returned to the count, and, by default, that waiter raises
``HolderDiedError`` naming the dead process (``on_holder_death="recover"``: it just goes on).
A process that *exits normally* while holding units has consumed them: its rows are cleared at
exit, so only a crash is treated as "died holding".
"""

from __future__ import annotations

import atexit
import os
import time
import weakref
from typing import Any

from corepool.errors import HolderDiedError
from corepool.sync import _process
from corepool.sync._lock_cores import SemaphoreCore
from corepool.sync._monitor import FIRST_FIELD, Monitor, monitor_segment
from corepool.sync._native import MUTEX_BYTES
from corepool.sync._shared import SharedObject
from corepool.sync.locks import HolderPolicy, deadline_of

__all__ = ["BoundedSemaphore", "Semaphore"]

_VALUE, _BOUND, _POLICY, _WAKE, _SLEEPERS = (FIRST_FIELD + offset for offset in range(5))
_ROWS = FIRST_FIELD + 5
_ROW_COUNT = 64
"""Processes holding units at once that are tracked; more still work, untracked."""
_FIELDS = 5 + 2 * _ROW_COUNT
_DEAD_CHECK_SECONDS = 0.2
"""How often a blocked waiter looks for dead holders (each look reads /proc once per row)."""
_UNBOUNDED = -1


class Semaphore(SharedObject, SemaphoreCore):
    """A counter of units shared by processes and threads (``multiprocessing.Semaphore``).

    ``acquire(block=True, timeout=None)`` (or threading's ``blocking=``, with its rules),
    ``release(n=1)`` and ``with`` come from ``SemaphoreCore`` (``_lock_cores``): with
    the C extension built, the uncontended call is done in C and only the rest (waiting, dead
    holders, errors) comes back to ``_acquire_slowly`` / ``_release_slowly`` here, which are
    also the whole of both calls on the ctypes backend: the reference behaviour.
    """

    _kind = "Semaphore"

    def __init__(self, value: int = 1, *, on_holder_death: HolderPolicy = "raise") -> None:
        self._create(value, _UNBOUNDED, on_holder_death)

    def _create(self, value: int, bound: int, on_holder_death: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"semaphore value must be an int, not {type(value).__name__}")
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        if on_holder_death not in ("raise", "recover"):
            raise ValueError(
                f"on_holder_death must be 'raise' or 'recover', not {on_holder_death!r}"
            )
        self._register(monitor_segment(_FIELDS))
        fields = self._monitor.fields
        fields[_VALUE], fields[_BOUND] = value, bound
        fields[_POLICY] = 1 if on_holder_death == "recover" else 0

    def _bind(self, segment: Any) -> None:
        super()._bind(segment)
        self._monitor = Monitor(segment, _FIELDS)
        self._row = 0  # this process's row in the holder table, once it has one (0: none)
        self._row_pid = 0
        self._exit_hook_pid = 0
        self._attach(segment.buf[: MUTEX_BYTES + 8 * (FIRST_FIELD + _FIELDS)])
        self._on_collect(self._monitor.release_views)

    def _acquire_slowly(self, block: bool = True, timeout: float | None = None) -> bool:
        monitor, fields = self._monitor, self._monitor.fields
        deadline = deadline_of(block, timeout)
        next_check = time.monotonic() + _DEAD_CHECK_SECONDS
        with monitor:
            while True:
                if fields[_VALUE] > 0:
                    self._take_unit(monitor)
                    break
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + _DEAD_CHECK_SECONDS
                    if self._reclaim_from_dead(monitor):
                        continue
                if deadline is not None and now >= deadline:
                    return False
                fields[_SLEEPERS] += 1
                try:
                    monitor.sleep(_WAKE, deadline)
                finally:
                    fields[_SLEEPERS] -= 1
        if self._exit_hook_pid != _process.PID:
            self._note_holding()
        return True

    def _release_slowly(self, n: int = 1) -> None:
        """Give ``n`` units back (threading's ``release(n)``); a bounded semaphore refuses, and
        changes nothing, when that would pass its initial value."""
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"n must be an int, not {type(n).__name__}")
        if n < 1:
            raise ValueError("n must be one or more")
        monitor, fields = self._monitor, self._monitor.fields
        with monitor:
            bound = fields[_BOUND]
            if bound != _UNBOUNDED and fields[_VALUE] + n > bound:
                raise ValueError("semaphore or lock released too many times")
            row = self._my_row(fields)
            if row == 0:  # a release by a process holding no unit: a signal
                monitor.journal(_VALUE, _WAKE)
            else:
                monitor.journal(_VALUE, _WAKE, row, row + 1)
                fields[row + 1] -= min(n, fields[row + 1])
                if fields[row + 1] <= 0:
                    fields[row] = fields[row + 1] = 0  # free; remembered for the next acquire
            fields[_VALUE] += n
            monitor.bump(_WAKE)
            monitor.commit()
            sleepers = fields[_SLEEPERS]
        if sleepers:  # the word changed under the mutex: no sleeper can miss this wake
            monitor.wake(_WAKE, n)

    def get_value(self) -> int:
        return int(self._monitor.fields[_VALUE])

    def __repr__(self) -> str:
        return f"<corepool.{self._kind}(value={self.get_value()}) {self._segment.name}>"

    # -- the holder table

    @staticmethod
    def _row_of(pid: int, fields: Any) -> int:
        """The row whose pid is ``pid`` (0: free rows), or 0 when there is none."""
        for row in range(_ROWS, _ROWS + 2 * _ROW_COUNT, 2):
            if fields[row] == pid:
                return row
        return 0

    def _my_row(self, fields: Any) -> int:
        """This process's row, remembered between calls (checked, since rows are shared)."""
        pid = _process.PID
        row = self._row
        if row and self._row_pid == pid and fields[row] == pid:
            return row
        row = self._row_of(pid, fields)
        self._row, self._row_pid = row, pid
        return row

    def _take_unit(self, monitor: Monitor) -> None:
        fields = monitor.fields
        pid = _process.PID
        row = self._row
        if not row or self._row_pid != pid or fields[row] not in (pid, 0):
            row = self._row_of(pid, fields) or self._row_of(0, fields)  # mine, else a free one
        if row:
            monitor.journal(_VALUE, row, row + 1)
            fields[row] = pid
            fields[row + 1] += 1
            self._row, self._row_pid = row, pid
        else:  # no row free: the unit goes untracked
            monitor.journal(_VALUE)
        fields[_VALUE] -= 1
        monitor.commit()

    def _note_holding(self) -> None:
        """This process took its first unit: clear its row if it exits normally."""
        self._exit_hook_pid = _process.PID
        _forget_at_exit(self)

    def _reclaim_from_dead(self, monitor: Monitor) -> bool:
        """Give back units of dead holders; raise about them unless the policy is recover."""
        fields = monitor.fields
        for row in range(_ROWS, _ROWS + 2 * _ROW_COUNT, 2):
            pid = fields[row]
            if pid in (0, _process.PID) or _process.is_alive(pid):
                continue
            monitor.journal(_VALUE, row, row + 1, _WAKE)
            fields[_VALUE] += fields[row + 1]
            fields[row] = fields[row + 1] = 0
            monitor.bump(_WAKE)
            monitor.commit()
            monitor.wake(_WAKE)
            if fields[_POLICY] == 0:
                raise HolderDiedError(repr(self), pid)
            return True
        return False

    def _forget_my_units(self) -> None:
        monitor, fields = self._monitor, self._monitor.fields
        with monitor:
            row = self._row_of(_process.PID, fields)
            if row:
                monitor.journal(row, row + 1)
                fields[row] = fields[row + 1] = 0
                monitor.commit()


class BoundedSemaphore(Semaphore):
    """A semaphore that refuses to be released above its initial value (``ValueError``)."""

    _kind = "BoundedSemaphore"

    def __init__(self, value: int = 1, *, on_holder_death: HolderPolicy = "raise") -> None:
        self._create(value, value, on_holder_death)


# -- units held at a normal exit were consumed, not lost: clear this process's rows

_held_here: weakref.WeakSet[Semaphore] = weakref.WeakSet()
_exit_hook_pid = 0


def _forget_at_exit(semaphore: Semaphore) -> None:
    global _exit_hook_pid
    _held_here.add(semaphore)
    if _exit_hook_pid != os.getpid():
        _exit_hook_pid = os.getpid()
        # multiprocessing children leave through os._exit after running multiprocessing's own
        # exit finalizers (reset when the child starts, hence registered lazily, here).
        from multiprocessing import util

        util.Finalize(None, _forget_all, exitpriority=0)


def _forget_all() -> None:
    for semaphore in list(_held_here):
        semaphore._forget_my_units()
    _held_here.clear()


atexit.register(_forget_all)


def _reset_after_fork() -> None:
    global _held_here
    _held_here = weakref.WeakSet()


os.register_at_fork(after_in_child=_reset_after_fork)
