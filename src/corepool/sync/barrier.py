"""``Barrier``: ``threading.Barrier`` semantics across processes, passable anywhere.

    fields [ parties | arrived | phase | wake word | timeout (µs, -1: none) | (pid, inside) x 64 ]

Phases, as in ``threading``: *filling* (parties arrive), *draining* (the released parties
leave; newcomers wait for the next round), *resetting* (``reset()`` was called while parties
waited: they get ``BrokenBarrierError``), *broken* (``abort()``, a timeout or a failed
``action``).  The last party to arrive runs ``action`` (pickled along with the barrier) outside
the monitor's mutex, so a slow action does not block processes that only read the barrier.

A party killed inside ``wait()`` would keep the barrier draining forever; waiters that sleep a
while check the pid table and count dead parties as gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from corepool.sync import _process
from corepool.sync._monitor import FIRST_FIELD, Monitor, monitor_segment
from corepool.sync._shared import SharedObject
from corepool.sync.locks import deadline_of

__all__ = ["Barrier", "BrokenBarrierError"]

BrokenBarrierError = threading.BrokenBarrierError

_PARTIES, _ARRIVED, _PHASE, _WAKE, _TIMEOUT = (FIRST_FIELD + offset for offset in range(5))
_ROWS = FIRST_FIELD + 5
_ROW_COUNT = 64
_FIELDS = 5 + 2 * _ROW_COUNT
_FILLING, _DRAINING, _RESETTING, _BROKEN, _ACTING = 0, 1, 2, 3, 4
_DEAD_CHECK_SECONDS = 0.2


class Barrier(SharedObject):
    """``parties`` processes or threads wait until all have called ``wait()``."""

    def __init__(
        self,
        parties: int,
        action: Callable[[], object] | None = None,
        timeout: float | None = None,
    ) -> None:
        if not isinstance(parties, int) or isinstance(parties, bool) or parties < 1:
            raise ValueError(f"parties must be an int >= 1, not {parties!r}")
        if action is not None and not callable(action):
            raise TypeError("action must be callable")
        self._action = action
        self._register(monitor_segment(_FIELDS))
        fields = self._monitor.fields
        fields[_PARTIES] = parties
        fields[_TIMEOUT] = -1 if timeout is None else int(max(0.0, timeout) * 1e6)

    def _bind(self, segment: Any) -> None:
        super()._bind(segment)
        self._monitor = Monitor(segment, _FIELDS)
        self._on_collect(self._monitor.release_views)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_barrier, (self._segment, self._action))

    @property
    def parties(self) -> int:
        return int(self._monitor.fields[_PARTIES])

    @property
    def n_waiting(self) -> int:
        fields = self._monitor.fields
        return int(fields[_ARRIVED]) if fields[_PHASE] == _FILLING else 0

    @property
    def broken(self) -> bool:
        return bool(self._monitor.fields[_PHASE] == _BROKEN)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for every party; returns this party's arrival index (0 to parties - 1)."""
        fields = self._monitor.fields
        if timeout is None and fields[_TIMEOUT] >= 0:
            timeout = fields[_TIMEOUT] / 1e6
        deadline = deadline_of(True, timeout)
        with self._monitor as monitor:
            self._wait_for_phase(monitor, (_FILLING, _BROKEN), None)
            if fields[_PHASE] == _BROKEN:
                raise BrokenBarrierError
            index = fields[_ARRIVED]
            self._change(monitor, _ARRIVED, index + 1, inside=+1)
            try:
                if index + 1 == fields[_PARTIES]:
                    self._release_all(monitor)
                else:
                    self._wait_for_release(monitor, deadline)
                return int(index)
            finally:
                self._leave(monitor)

    def _release_all(self, monitor: Monitor) -> None:
        if self._action is not None:
            self._change(monitor, _PHASE, _ACTING)
            monitor.leave()
            try:
                self._action()
            except BaseException:
                monitor.enter()
                self._change(monitor, _PHASE, _BROKEN)
                raise
            monitor.enter()
        self._change(monitor, _PHASE, _DRAINING)

    def _wait_for_release(self, monitor: Monitor, deadline: float | None) -> None:
        if not self._wait_for_phase(monitor, (_DRAINING, _RESETTING, _BROKEN), deadline):
            self._change(monitor, _PHASE, _BROKEN)  # timed out: the barrier is broken
            raise BrokenBarrierError
        if monitor.fields[_PHASE] in (_RESETTING, _BROKEN):
            raise BrokenBarrierError

    def _leave(self, monitor: Monitor) -> None:
        fields = monitor.fields
        self._change(monitor, _ARRIVED, fields[_ARRIVED] - 1, inside=-1)
        if fields[_ARRIVED] == 0 and fields[_PHASE] in (_DRAINING, _RESETTING):
            self._change(monitor, _PHASE, _FILLING)

    def _wait_for_phase(
        self, monitor: Monitor, phases: tuple[int, ...], deadline: float | None
    ) -> bool:
        fields = monitor.fields
        next_check = time.monotonic() + _DEAD_CHECK_SECONDS
        while fields[_PHASE] not in phases:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            if now >= next_check:
                next_check = now + _DEAD_CHECK_SECONDS
                self._count_out_dead_parties(monitor)
                continue
            monitor.sleep(_WAKE, deadline)
        return True

    def _change(self, monitor: Monitor, index: int, value: int, inside: int = 0) -> None:
        """Set one field (and this process's "inside" count), journaled, and wake everyone."""
        fields = monitor.fields
        row = self._row(fields) if inside else None
        monitor.journal(index, _WAKE, *((row, row + 1) if row is not None else ()))
        fields[index] = value
        if row is not None:
            fields[row] = _process.PID
            fields[row + 1] += inside
            if fields[row + 1] == 0:
                fields[row] = 0
        monitor.bump(_WAKE)
        monitor.commit()
        monitor.wake(_WAKE)

    @staticmethod
    def _row(fields: Any) -> int | None:
        free = None
        for row in range(_ROWS, _ROWS + 2 * _ROW_COUNT, 2):
            if fields[row] == _process.PID:
                return row
            if free is None and fields[row] == 0:
                free = row
        return free

    def _count_out_dead_parties(self, monitor: Monitor) -> None:
        fields = monitor.fields
        for row in range(_ROWS, _ROWS + 2 * _ROW_COUNT, 2):
            pid = fields[row]
            if pid and pid != _process.PID and not _process.is_alive(pid):
                monitor.journal(_ARRIVED, row, row + 1)
                fields[_ARRIVED] -= fields[row + 1]
                fields[row] = fields[row + 1] = 0
                monitor.commit()
                if fields[_ARRIVED] == 0 and fields[_PHASE] in (_DRAINING, _RESETTING):
                    self._change(monitor, _PHASE, _FILLING)

    def reset(self) -> None:
        """Back to empty; parties waiting now get ``BrokenBarrierError``."""
        with self._monitor as monitor:
            fields = monitor.fields
            if fields[_ARRIVED] > 0 and fields[_PHASE] in (_FILLING, _BROKEN):
                self._change(monitor, _PHASE, _RESETTING)
            elif fields[_ARRIVED] == 0:
                self._change(monitor, _PHASE, _FILLING)

    def abort(self) -> None:
        """Break the barrier: waiting and future ``wait()`` calls raise ``BrokenBarrierError``."""
        with self._monitor as monitor:
            self._change(monitor, _PHASE, _BROKEN)

    def __repr__(self) -> str:
        return f"<corepool.Barrier(parties={self.parties}) {self._segment.name}>"


def _rebuild_barrier(segment: Any, action: Callable[[], object] | None) -> Barrier:
    barrier = Barrier._wrap(segment)
    barrier._action = action
    return barrier
