"""``Condition``: multiprocessing.Condition over a corepool Lock or RLock, passable anywhere.

    fields [ next ticket | waiters' high-water row | (ticket, state, pid) x 256 ]

A waiter takes a row (a ticket number, ``WAITING``, its pid), releases the lock and sleeps on its
row's state word.  ``notify(n)`` picks the ``n`` oldest rows still waiting whose process is alive,
sets them to ``NOTIFIED`` and wakes exactly those sleepers, so a waiter that timed out or was
killed never swallows a notification.  All changes happen while the caller holds the lock, so
the rows need no other mutex; the monitor's mutex is still taken for its crash journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from corepool.errors import LockNotOwnedError
from corepool.sync import _native, _process
from corepool.sync._monitor import FIRST_FIELD, Monitor, monitor_segment
from corepool.sync._shared import SharedObject
from corepool.sync.locks import Lock, RLock, deadline_of

__all__ = ["Condition"]

T = TypeVar("T")

_NEXT_TICKET, _HIGH_WATER = FIRST_FIELD, FIRST_FIELD + 1
_ROWS = FIRST_FIELD + 2
_ROW_COUNT = 256
"""Waiters at once; a 257th waiter gets ``RuntimeError`` (after dead waiters' rows are freed)."""
_FIELDS = 2 + 3 * _ROW_COUNT
_FREE, _WAITING, _NOTIFIED = 0, 1, 2


class Condition(SharedObject):
    """Wait for a state change signalled by another process or thread.

    ``lock`` must be a corepool ``Lock`` or ``RLock`` (default: a new ``RLock``).
    """

    def __init__(self, lock: Lock | RLock | None = None) -> None:
        if lock is None:
            lock = RLock()
        if not isinstance(lock, (Lock, RLock)):
            raise TypeError(f"Condition needs a corepool Lock or RLock, not {type(lock).__name__}")
        self._lock = lock
        self._register(monitor_segment(_FIELDS))

    def _bind(self, segment: Any) -> None:
        super()._bind(segment)
        self._monitor = Monitor(segment, _FIELDS)
        self._on_collect(self._monitor.release_views)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_condition, (self._segment, self._lock))

    # -- the lock

    def acquire(
        self, block: bool = True, timeout: float | None = None, *, blocking: bool | None = None
    ) -> bool:
        """The lock's ``acquire`` (``blocking=``: threading's spelling and rules)."""
        if blocking is None:
            return self._lock.acquire(block, timeout)
        if block is not True:
            raise TypeError("acquire() got both 'block' and 'blocking' (the same argument)")
        return self._lock.acquire(blocking=blocking, timeout=timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    # -- waiting

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, sleep until notified or ``timeout``, re-acquire; True if notified."""
        if not self._lock._is_owned():
            raise LockNotOwnedError("cannot wait on un-acquired lock")
        row = self._take_row()
        depth = self._lock._release_save()
        try:
            self._sleep_on(row, deadline_of(True, timeout))
        finally:
            notified = self._give_back_row(row)
            self._lock._acquire_restore(depth)
        return notified

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until ``predicate()`` is true (checked with the lock held); returns its value."""
        deadline = deadline_of(True, timeout)
        result = predicate()
        while not result:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` of the longest-waiting live waiters."""
        if not self._lock._is_owned():
            raise LockNotOwnedError("cannot notify on un-acquired lock")
        with self._monitor as monitor:
            for row in self._oldest_waiting(monitor.fields, n):
                monitor.fields[row + 1] = _NOTIFIED
                monitor.wake(row + 1, 1)

    def notify_all(self) -> None:
        self.notify(_ROW_COUNT)

    # -- rows

    def _take_row(self) -> int:
        with self._monitor as monitor:
            fields = monitor.fields
            for attempt in range(2):
                for row in range(_ROWS, _ROWS + 3 * _ROW_COUNT, 3):
                    if fields[row + 1] == _FREE:
                        monitor.journal(_NEXT_TICKET, _HIGH_WATER, row, row + 1, row + 2)
                        fields[row] = fields[_NEXT_TICKET]
                        fields[_NEXT_TICKET] += 1
                        fields[row + 1] = _WAITING
                        fields[row + 2] = _process.PID
                        fields[_HIGH_WATER] = max(fields[_HIGH_WATER], row + 3)
                        monitor.commit()
                        return row
                if attempt == 0:
                    self._free_dead_rows(fields)
        raise RuntimeError(f"more than {_ROW_COUNT} waiters on {self!r}")

    def _sleep_on(self, row: int, deadline: float | None) -> None:
        fields = self._monitor.fields
        address = self._monitor.futex_address(row + 1)
        while fields[row + 1] == _WAITING:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return
            _native.futex_wait(address, _WAITING, left)

    def _give_back_row(self, row: int) -> bool:
        with self._monitor as monitor:
            notified = bool(monitor.fields[row + 1] == _NOTIFIED)
            monitor.fields[row + 1] = _FREE
            return notified

    @staticmethod
    def _oldest_waiting(fields: Any, n: int) -> list[int]:
        waiting = [
            (fields[row], row)
            for row in range(_ROWS, fields[_HIGH_WATER], 3)
            if fields[row + 1] == _WAITING
        ]
        waiting.sort()
        chosen: list[int] = []
        for _, row in waiting:
            if len(chosen) == n:
                break
            pid = fields[row + 2]
            if pid == _process.PID or _process.is_alive(pid):
                chosen.append(row)
            else:
                fields[row + 1] = _FREE  # a waiter killed in its sleep
        return chosen

    @staticmethod
    def _free_dead_rows(fields: Any) -> None:
        for row in range(_ROWS, _ROWS + 3 * _ROW_COUNT, 3):
            if fields[row + 1] != _FREE and not _process.is_alive(fields[row + 2]):
                fields[row + 1] = _FREE

    def __repr__(self) -> str:
        return f"<corepool.Condition({self._lock!r}) {self._segment.name}>"


def _rebuild_condition(segment: Any, lock: Lock | RLock) -> Condition:
    condition = Condition._wrap(segment)
    condition._lock = lock
    return condition
