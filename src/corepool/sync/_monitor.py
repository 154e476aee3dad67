"""A monitor in shared memory: a robust mutex guarding int64 fields, an undo journal, futex waits.

    segment [ mutex | holder pid | journal length | snapshot start, length |
              journal (index, old value) x 48 | snapshot x 24 | fields ... ]

Semaphores, conditions, events, barriers and queues keep their state in a monitor.  Every
change of several fields is journaled first (``journal(i, j, ...)`` saves old values one by
one, ``snapshot(start, n)`` saves a block in one copy; ``commit()`` drops both), so a process
killed in the middle of a change leaves the journal behind: the next process to enter finds
the mutex marked ``EOWNERDEAD``, puts the old values back, and the state is exactly as before
the dead process's change began.

Waiting is on a futex word (the low half of a field): a waiter reads the word under the mutex,
leaves, and sleeps only while the word still has that value; a waker changes the word under the
mutex and wakes sleepers.  No wake-up can be lost, and a killed sleeper leaves nothing behind.
"""

from __future__ import annotations

import errno
import time
from time import perf_counter
from typing import Any

from corepool.shared.memory import Segment
from corepool.sync import _native, _process
from corepool.sync._native import FUTEX_OFFSET, MUTEX_BYTES, trylock, unlock

__all__ = [
    "FIRST_FIELD",
    "JOURNAL",
    "JOURNAL_LENGTH",
    "SNAPSHOT",
    "SNAP_LENGTH",
    "SNAP_START",
    "Monitor",
    "monitor_segment",
]

_HOLDER, _JOURNAL_LENGTH, _SNAP_START, _SNAP_LENGTH, _JOURNAL = 0, 1, 2, 3, 4
# Public to the queue store's inlined fast paths (a function call costs as much as the work).
JOURNAL_LENGTH, SNAP_START, SNAP_LENGTH, JOURNAL = 1, 2, 3, 4
_JOURNAL_ENTRIES = 48  # a priority queue's put: ~8 counters + one per heap level (17 at 64k)
_SNAPSHOT = _JOURNAL + 2 * _JOURNAL_ENTRIES
SNAPSHOT = _SNAPSHOT
SNAPSHOT_WORDS = 24
FIRST_FIELD = _SNAPSHOT + SNAPSHOT_WORDS
"""Index of the first field an object may use."""

_SPIN_SECONDS = 5e-6
"""How long a busy mutex is retried before sleeping in the kernel: about one critical section of
a queue; sleeping and being woken costs ~20 µs of two context switches (bench_sync.py queues).
A budget in time, not in retries: a retry costs ~0.1 µs from C, ~0.2 µs through ctypes, and 30
retries (5 µs through ctypes, 2 µs from C) put the C backend's priority queue at 16 µs per item
instead of 7 µs: its getter gave up and slept while a put still held the mutex."""
_SEQUENCE_MASK = 0x7FFFFFFF  # futex words are 32 bits; keep counters positive


def monitor_segment(fields: int, extra_bytes: int = 0, parent: Segment | None = None) -> Segment:
    """A new segment with an initialised monitor of ``fields`` object fields (plus raw bytes)."""
    size = MUTEX_BYTES + 8 * (FIRST_FIELD + fields) + extra_bytes
    segment = Segment.create(size, parent=parent)
    _native.init_mutex(segment.address)
    return segment


class Monitor:
    """This process's handle on the monitor at the start of a segment."""

    def __init__(self, segment: Segment, fields: int) -> None:
        self.segment = segment
        self.mutex = _native.mutex_handle(segment.address)
        end = MUTEX_BYTES + 8 * (FIRST_FIELD + fields)
        self.fields: Any = segment.buf[MUTEX_BYTES:end].cast("q")
        self._fields_address = segment.address + MUTEX_BYTES
        self.extra = segment.buf[end:]

    # -- the mutex

    def enter(self) -> None:
        """Take the mutex (the state is consistent once this returns)."""
        result = trylock(self.mutex)
        if result == errno.EBUSY:
            result = self._wait_for_mutex()
        if result == errno.EOWNERDEAD:
            self.roll_back()
            _native.make_consistent(self.mutex)
        elif result:
            raise OSError(result, f"pthread_mutex_lock: {errno.errorcode.get(result, result)}")
        self.fields[_HOLDER] = _process.PID

    def _wait_for_mutex(self) -> int:
        mutex = self.mutex
        give_up = perf_counter() + _SPIN_SECONDS
        result = trylock(mutex)
        while result == errno.EBUSY and perf_counter() < give_up:  # held for microseconds
            result = trylock(mutex)
        if result == errno.EBUSY:
            result = _native.lock_mutex(mutex, None)
        return int(result)

    def leave(self) -> None:
        unlock(self.mutex)

    def __enter__(self) -> Monitor:
        self.enter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        unlock(self.mutex)

    # -- the journal

    def journal(self, *indices: int) -> None:
        """Save the current values of ``indices`` (object field numbers) before changing them."""
        fields = self.fields
        length = fields[_JOURNAL_LENGTH]
        if length + len(indices) > _JOURNAL_ENTRIES:
            raise RuntimeError("a monitor change touches more fields than the journal holds")
        for index in indices:
            slot = _JOURNAL + 2 * length
            fields[slot] = index
            fields[slot + 1] = fields[index]
            length += 1
            fields[_JOURNAL_LENGTH] = length  # after the pair: a torn entry is never replayed

    def snapshot(self, start: int, length: int) -> None:
        """Save fields ``start`` to ``start + length`` in one copy (a change's counters)."""
        fields = self.fields
        fields[_SNAPSHOT : _SNAPSHOT + length] = fields[start : start + length]
        fields[_SNAP_START] = start
        fields[_SNAP_LENGTH] = length  # last: a torn snapshot is never replayed

    def commit(self) -> None:
        fields = self.fields
        fields[_JOURNAL_LENGTH] = 0
        fields[_SNAP_LENGTH] = 0

    def roll_back(self) -> None:
        fields = self.fields
        length, start = fields[_SNAP_LENGTH], fields[_SNAP_START]
        if length:
            fields[start : start + length] = fields[_SNAPSHOT : _SNAPSHOT + length]
            fields[_SNAP_LENGTH] = 0
        for entry in reversed(range(fields[_JOURNAL_LENGTH])):
            slot = _JOURNAL + 2 * entry
            fields[fields[slot]] = fields[slot + 1]
        fields[_JOURNAL_LENGTH] = 0

    # -- waiting

    def bump(self, index: int) -> None:
        """Change the futex word ``index`` so that sleepers on its old value wake."""
        self.fields[index] = (self.fields[index] + 1) & _SEQUENCE_MASK

    def futex_address(self, index: int) -> int:
        return self._fields_address + 8 * index + FUTEX_OFFSET

    def wake(self, index: int, count: int = 0x7FFFFFFF) -> None:
        _native.futex_wake(self.futex_address(index), count)

    def sleep(self, index: int, deadline: float | None) -> None:
        """Leave, sleep while word ``index`` keeps its current value (or until ``deadline``,
        or one slice), enter again.  Callers re-check their condition afterwards."""
        expected = self.fields[index]
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        unlock(self.mutex)
        try:
            _native.futex_wait(self.futex_address(index), expected, timeout)
        finally:
            self.enter()

    def release_views(self) -> None:
        self.fields.release()
        self.extra.release()
