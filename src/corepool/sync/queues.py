"""Queues between processes and threads: ``Queue``, ``JoinableQueue``, ``SimpleQueue``,
``LifoQueue``, ``PriorityQueue``, passable anywhere.

    put(item) ─ pickle (_queue_items) ─▶ [ shared-memory slots, _queue_store ] ─▶ get() ─ unpickle

There is no feeder thread: ``put`` copies the pickled item into shared memory before it
returns, so an item whose ``put`` returned is in the queue even if its process exits or is
killed the next instant (``multiprocessing.Queue`` loses it in the feeder's buffer).  An item
that cannot be pickled fails ``put`` itself with ``SerializationError``; the queue is untouched.

``maxsize`` bounds the items, as in the standard library; the slot storage (``capacity_bytes``)
bounds the bytes: a ``put`` that does not fit waits like a full queue.  By default an unbounded
queue gets 32 MiB of slots (262,144 small items) and a bounded one 512 bytes per item; tmpfs
only spends memory on pages actually used.
``close()`` ends this *handle* (this process) as in ``multiprocessing``; other processes go on.
"""

from __future__ import annotations

import queue
import time
from typing import Any, ClassVar, Generic, TypeVar

from corepool.shared.memory import Segment
from corepool.sync._monitor import Monitor, monitor_segment
from corepool.sync._native import MUTEX_BYTES
from corepool.sync._queue_heap import NO_KEY, SortKey, sort_key
from corepool.sync._queue_items import decode, drop_overflow, encode, unpickle
from corepool.sync._queue_layout import (
    ALL_DONE,
    COUNT,
    GETTERS,
    MAXSIZE,
    NOT_EMPTY,
    NOT_FULL,
    PUTTERS,
    SLOT_BYTES,
    SLOTS,
    UNFINISHED,
    Order,
    store_fields,
)
from corepool.sync._queue_store import QueueStore
from corepool.sync._shared import SharedObject
from corepool.sync.locks import deadline_of

__all__ = ["JoinableQueue", "LifoQueue", "PriorityQueue", "Queue", "SimpleQueue"]

T = TypeVar("T")

_UNBOUNDED_CAPACITY = 32 << 20
"""Slot storage of an unbounded queue: 262,144 items of up to 128 pickled bytes."""
_BYTES_PER_BOUNDED_ITEM = 512
_MIN_SLOTS = 256  # the largest chained item (OVERFLOW_BYTES) must always fit: 64 slots
_NO_ITEM = object()
_SPIN_READS = 300
"""Most reads of the item count (~30 ns each) by a getter that found the queue empty, before it
sleeps: being woken costs a producer a system call and the getter ~20 µs (bench_sync.py).
Each handle halves its budget after a fruitless look and restores it after a fruitful one."""


class Queue(SharedObject, Generic[T]):
    """A FIFO queue shared by processes and threads (``multiprocessing.Queue``).

    Generic like the standard queues: ``corepool.Queue[int]()`` at run time, ``Queue[int]`` in
    annotations (``put`` takes and ``get`` returns a ``T``)."""

    _order: ClassVar[Order] = "fifo"
    _closes_at_once: ClassVar[bool] = False
    """``close()`` closes the handle whether or not it was used (``SimpleQueue``: its
    operations then raise ``OSError``, not ``ValueError``)."""

    def __init__(self, maxsize: int = 0, *, capacity_bytes: int | None = None) -> None:
        if not isinstance(maxsize, int) or isinstance(maxsize, bool):
            raise TypeError(f"maxsize must be an int, not {type(maxsize).__name__}")
        if capacity_bytes is None:
            capacity_bytes = (
                maxsize * _BYTES_PER_BOUNDED_ITEM if maxsize > 0 else _UNBOUNDED_CAPACITY
            )
        if not isinstance(capacity_bytes, int) or capacity_bytes <= 0:
            raise ValueError(f"capacity_bytes must be a positive int, not {capacity_bytes!r}")
        slots = max(_MIN_SLOTS, capacity_bytes // SLOT_BYTES)
        segment = monitor_segment(store_fields(slots), extra_bytes=slots * SLOT_BYTES)
        monitor = Monitor(segment, store_fields(slots))
        QueueStore.initialise(monitor.fields, slots, max(0, maxsize), self._order)
        monitor.release_views()
        self._register(segment)

    def _bind(self, segment: Segment) -> None:
        super()._bind(segment)
        probe = segment.buf[MUTEX_BYTES : MUTEX_BYTES + 8 * (SLOTS + 1)].cast("q")
        slots = int(probe[SLOTS])
        probe.release()
        self._monitor = Monitor(segment, store_fields(slots))
        self._store = QueueStore(self._monitor)
        self._closed = self._put_here = self._handle_closed = False
        self._spin_reads = _SPIN_READS
        self._on_collect(_release, self._store)

    @property
    def maxsize(self) -> int:
        return int(self._monitor.fields[MAXSIZE])

    # -- putting

    def put(self, obj: T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``obj`` in; waits while the queue is full (``queue.Full`` after ``timeout``)."""
        if self._closed:
            raise self._closed_error()
        self._put_here = True
        payload, size, overflow = encode(obj, self._segment)
        key = sort_key(obj) if self._order == "priority" else NO_KEY
        if overflow is None and size <= SLOT_BYTES:
            monitor = self._monitor
            monitor.enter()
            try:
                if self._store.put_small(payload, obj, key):
                    if monitor.fields[GETTERS]:
                        monitor.wake(NOT_EMPTY, 1)
                    return
            finally:
                monitor.leave()
        needed = max(1, -(-len(payload) // SLOT_BYTES))
        try:
            self._put_record(payload, size, key, obj, (needed, deadline_of(block, timeout)))
        except BaseException:
            if overflow is not None:
                overflow.unlink()
            raise
        finally:
            if overflow is not None:
                overflow.close()  # the queue's segment keeps it alive now

    def _put_record(
        self,
        payload: bytes,
        size: int,
        key: SortKey,
        obj: Any,
        room: tuple[int, float | None],
    ) -> None:
        needed, deadline = room
        store, monitor = self._store, self._monitor
        fields = monitor.fields
        with monitor:
            while not store.has_room(needed):
                if deadline is not None and time.monotonic() >= deadline:
                    raise queue.Full
                self._sleep(PUTTERS, NOT_FULL, deadline)
            store.put(payload, size, key, obj)
            if fields[GETTERS]:
                monitor.wake(NOT_EMPTY, 1)

    def put_nowait(self, obj: T) -> None:
        self.put(obj, False)

    # -- getting

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Take the next item; waits while the queue is empty (``queue.Empty`` on timeout)."""
        if self._closed:
            raise self._closed_error()
        monitor = self._monitor
        fields = monitor.fields
        monitor.enter()
        try:
            if fields[COUNT] == 0:
                self._wait_for_item(block, timeout)
            elif self._spin_reads < _SPIN_READS:
                self._spin_reads += 1  # no wait needed: slowly earn the spin budget back
            small = self._store.get_small() if self._order != "priority" else None
            if small is not None:
                if fields[PUTTERS]:
                    monitor.wake(NOT_FULL)
            else:
                size, payload, cached = self._store.get(_NO_ITEM)
                if fields[PUTTERS]:
                    monitor.wake(NOT_FULL)
        finally:
            monitor.leave()
        item: T
        if small is not None:
            item = unpickle(small)
        elif cached is not _NO_ITEM:
            if size < 0:  # the item is known; its overflow segment is no longer needed
                drop_overflow(payload, self._segment.janitor)
            item = cached
        else:
            item = decode(size, payload, janitor=self._segment.janitor)
        return item

    def _wait_for_item(self, block: bool, timeout: float | None) -> None:
        """With the monitor held and the queue empty: wait for an item or raise Empty."""
        deadline = deadline_of(block, timeout)
        monitor = self._monitor
        fields = monitor.fields
        budget = self._spin_reads
        spun = not block or budget == 0
        while fields[COUNT] == 0:
            if deadline is not None and time.monotonic() >= deadline:
                raise queue.Empty
            if not spun:  # an item is often microseconds away: look before sleeping
                spun = True
                monitor.leave()
                for _ in range(self._spin_reads):
                    if fields[COUNT]:
                        break
                monitor.enter()
                # Adapt: keep looking while it pays, stop wasting a loaded CPU when it does not.
                self._spin_reads = _SPIN_READS if fields[COUNT] else max(0, self._spin_reads // 2)
                continue
            self._sleep(GETTERS, NOT_EMPTY, deadline)
        if not spun and self._spin_reads < _SPIN_READS:
            self._spin_reads = min(_SPIN_READS, self._spin_reads * 2 + 1)

    def get_nowait(self) -> T:
        return self.get(False)

    def _sleep(self, counter: int, word: int, deadline: float | None) -> None:
        fields = self._monitor.fields
        fields[counter] += 1
        try:
            self._monitor.sleep(word, deadline)
        finally:
            fields[counter] -= 1

    # -- state

    def qsize(self) -> int:
        return int(self._monitor.fields[COUNT])

    def empty(self) -> bool:
        if self._handle_closed:
            raise OSError("handle is closed")
        return self.qsize() == 0

    def full(self) -> bool:
        maxsize = self.maxsize
        return 0 < maxsize <= self.qsize()

    def close(self) -> None:
        """No more ``put`` or ``get`` through this handle (other processes are unaffected).

        As in ``multiprocessing``, where closing ends the feeder thread that the first ``put``
        started and the feeder closes the pipe's reading end: once this handle has put
        something, ``empty()`` after ``close()`` raises ``OSError("handle is closed")``
        (``full()`` and ``qsize()`` still answer); a ``SimpleQueue`` closes its pipe at once."""
        self._closed = True
        self._handle_closed = self._put_here or self._closes_at_once

    def join_thread(self) -> None:
        """For ``multiprocessing`` compatibility: there is no feeder thread to wait for."""

    def cancel_join_thread(self) -> None:
        """For ``multiprocessing`` compatibility: there is no feeder thread to abandon."""

    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    def _closed_error(self) -> Exception:
        if self._closes_at_once:
            return OSError("handle is closed")
        return ValueError(f"Queue {self!r} is closed")

    def __repr__(self) -> str:
        return f"<corepool.{type(self).__name__} {self._segment.name} size={self.qsize()}>"


class JoinableQueue(Queue[T]):
    """A ``Queue`` whose consumers report each item done (``multiprocessing.JoinableQueue``)."""

    def task_done(self) -> None:
        """One item taken with ``get()`` has been processed."""
        with self._monitor as monitor:
            fields = monitor.fields
            if fields[UNFINISHED] <= 0:
                raise ValueError("task_done() called too many times")
            fields[UNFINISHED] -= 1
            if fields[UNFINISHED] == 0:
                monitor.bump(ALL_DONE)
                monitor.wake(ALL_DONE)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put has been reported done; False if ``timeout`` ran out."""
        deadline = deadline_of(True, timeout)
        with self._monitor as monitor:
            while monitor.fields[UNFINISHED] > 0:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                monitor.sleep(ALL_DONE, deadline)
        return True


class SimpleQueue(Queue[T]):
    """An unbounded FIFO queue (``multiprocessing.SimpleQueue``)."""

    _closes_at_once: ClassVar[bool] = True

    def __init__(self, *, capacity_bytes: int | None = None) -> None:
        super().__init__(0, capacity_bytes=capacity_bytes)


class LifoQueue(JoinableQueue[T]):
    """Last in, first out, across processes (``queue.LifoQueue``)."""

    _order: ClassVar[Order] = "lifo"


class PriorityQueue(JoinableQueue[T]):
    """Smallest item first, across processes (``queue.PriorityQueue``): items are compared with
    ``<``, typically ``(priority, data)`` tuples.  Items that cannot be compared with those in
    the queue fail ``put`` (or ``get``) with ``TypeError`` and leave the queue as it was."""

    _order: ClassVar[Order] = "priority"


def _release(store: QueueStore) -> None:
    store.release_views()
