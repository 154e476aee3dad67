"""Where queued items live: records in fixed-size slots of one segment, in FIFO, LIFO or
priority order.

    producer: pickle ─▶ monitor ─▶ take slots ─▶ copy bytes ─▶ link into the order ─▶ wake getter
    consumer: monitor ─▶ unlink from the order ─▶ copy bytes out ─▶ free slots ─▶ wake putter
              ─▶ unpickle (outside the monitor)

The owners (``_queue_layout`` draws the fields they share):

* ``_queue_slots.Slots``: records, an item's pickle spread over a chain of 128-byte slots (most
  small items take one).  Items over ``OVERFLOW_BYTES`` get a segment of their own, tied to the
  queue's (the janitor keeps it while the queue lives) and unlinked by the getter
  (``_queue_items``);
* this module: FIFO order, a singly linked list of records (head, tail); LIFO, the same list
  used as a stack (top); and the steps of a put and a get;
* ``_queue_heap.PriorityHeap``: priority order, a binary heap of record numbers.

One-slot items (most) take ``put_small``/``get_small``, the slot and link steps inlined: at
~2 µs a call, a Python function call is a measurable part of the work.

Every change runs inside the monitor with its counters snapshotted and each other field it
touches journaled, so a process killed halfway through a ``put`` or ``get`` is rolled back by
the next one in: the item is either fully in the queue or not at all.  Slots written but not yet
linked are invisible, and freed slots are only reachable through the journaled free-list head.
"""

from __future__ import annotations

from typing import Any

from corepool.sync._monitor import (
    FIRST_FIELD,
    JOURNAL,
    JOURNAL_LENGTH,
    SNAP_LENGTH,
    SNAP_START,
    SNAPSHOT,
    Monitor,
)
from corepool.sync._queue_heap import PriorityHeap, SortKey
from corepool.sync._queue_layout import (
    COUNT,
    COUNTERS,
    FREE_COUNT,
    FREE_HEAD,
    FREE_NEXT,
    FRESH,
    HEAD,
    LINK,
    MAXSIZE,
    NEXT_SEQ,
    NEXT_SLOT,
    NOT_EMPTY,
    NOT_FULL,
    ORDER,
    ORDERS,
    SEQ,
    SIZE,
    SLOT_BYTES,
    SLOTS,
    TABLE,
    TAIL,
    UNFINISHED,
    WORDS,
    Order,
)
from corepool.sync._queue_slots import Slots

__all__ = ["QueueStore"]

_FIFO, _LIFO, _PRIORITY = ORDERS["fifo"], ORDERS["lifo"], ORDERS["priority"]


class QueueStore:
    """One process's view of a queue's storage.  Every method expects the monitor held."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.fields = monitor.fields
        self.order = int(self.fields[ORDER])
        self.data = monitor.extra
        self.slots = Slots(self.fields, self.data)
        self.heap = PriorityHeap(monitor, self.slots)

    @staticmethod
    def initialise(fields: Any, slots: int, maxsize: int, order: Order) -> None:
        fields[SLOTS], fields[MAXSIZE], fields[ORDER] = slots, maxsize, ORDERS[order]
        fields[FREE_HEAD] = fields[HEAD] = fields[TAIL] = -1
        fields[FREE_COUNT] = slots

    def has_room(self, slots_needed: int) -> bool:
        fields = self.fields
        maxsize = fields[MAXSIZE]
        if maxsize > 0 and fields[COUNT] >= maxsize:
            return False
        return bool(fields[FREE_COUNT] >= slots_needed)

    # -- fast paths: items of one slot (most items), slot and link steps inlined

    def put_small(self, payload: bytes, item: Any, key: SortKey) -> bool:
        """Store a one-slot item; False if there is no room.  Priority order needs the item
        and its ``sort_key`` (a failed comparison raises and changes nothing)."""
        f = self.fields
        maxsize = f[MAXSIZE]
        if (maxsize > 0 and f[COUNT] >= maxsize) or f[FREE_COUNT] < 1:
            return False
        f[SNAPSHOT : SNAPSHOT + COUNTERS] = f[FIRST_FIELD : FIRST_FIELD + COUNTERS]
        f[SNAP_START] = FIRST_FIELD
        f[SNAP_LENGTH] = COUNTERS
        slot = f[FREE_HEAD]
        if slot >= 0:
            f[FREE_HEAD] = f[TABLE + WORDS * slot + FREE_NEXT]
        else:
            slot = f[FRESH]
            f[FRESH] = slot + 1
        f[FREE_COUNT] -= 1
        start = slot * SLOT_BYTES
        self.data[start : start + len(payload)] = payload
        row = TABLE + WORDS * slot
        f[row + NEXT_SLOT] = -1
        f[row + SIZE] = len(payload)
        if self.order == _PRIORITY:
            seq = f[NEXT_SEQ]
            f[row + SEQ] = seq
            f[NEXT_SEQ] = seq + 1
            self._push(slot, item, key)
        elif self.order == _LIFO:
            f[row + LINK] = f[HEAD]
            f[HEAD] = slot
        else:
            f[row + LINK] = -1
            tail = f[TAIL]
            if tail >= 0:
                link = TABLE + WORDS * tail + LINK
                f[JOURNAL] = link
                f[JOURNAL + 1] = f[link]
                f[JOURNAL_LENGTH] = 1
                f[link] = slot
            else:
                f[HEAD] = slot
            f[TAIL] = slot
        f[COUNT] += 1
        f[UNFINISHED] += 1
        f[NOT_EMPTY] = (f[NOT_EMPTY] + 1) & 0x7FFFFFFF
        f[JOURNAL_LENGTH] = 0
        f[SNAP_LENGTH] = 0
        return True

    def get_small(self) -> bytes | None:
        """Take the next item if it is a one-slot item (FIFO or LIFO order), else None."""
        f = self.fields
        record = f[HEAD]
        row = TABLE + WORDS * record
        size = f[row + SIZE]
        if size < 0 or f[row + NEXT_SLOT] >= 0:
            return None
        f[SNAPSHOT : SNAPSHOT + COUNTERS] = f[FIRST_FIELD : FIRST_FIELD + COUNTERS]
        f[SNAP_START] = FIRST_FIELD
        f[SNAP_LENGTH] = COUNTERS
        following = f[row + LINK]
        f[HEAD] = following
        if following < 0:
            f[TAIL] = -1
        start = record * SLOT_BYTES
        payload = bytes(self.data[start : start + size])
        f[row + FREE_NEXT] = f[FREE_HEAD]
        f[FREE_HEAD] = record
        f[FREE_COUNT] += 1
        f[COUNT] -= 1
        f[NOT_FULL] = (f[NOT_FULL] + 1) & 0x7FFFFFFF
        f[SNAP_LENGTH] = 0
        return payload

    # -- put and get

    def put(self, payload: bytes, size: int, key: SortKey, item: Any) -> None:
        """Store a record; the caller checked ``has_room`` and holds the monitor."""
        monitor, fields = self.monitor, self.fields
        monitor.snapshot(FIRST_FIELD, COUNTERS)
        try:
            record = self.slots.write(payload, size)
            if self.order == _PRIORITY:
                self._push(record, item, key)
            elif self.order == _LIFO:
                fields[TABLE + WORDS * record + LINK] = fields[HEAD]
                fields[HEAD] = record
            else:
                self._append(record)
        except BaseException:
            monitor.roll_back()
            raise
        fields[COUNT] += 1
        fields[UNFINISHED] += 1
        monitor.bump(NOT_EMPTY)
        monitor.commit()

    def _push(self, record: int, item: Any, key: SortKey) -> None:
        """Into the heap, or roll back: a comparison that raises leaves the queue as it was."""
        heap = self.heap
        heap.set_key(record, key)
        try:
            heap.push(record, item, key)
        except BaseException:
            self.monitor.roll_back()
            raise
        heap.remember(record, item)

    def _append(self, record: int) -> None:
        fields = self.fields
        fields[TABLE + WORDS * record + LINK] = -1
        tail = fields[TAIL]
        if tail >= 0:
            link = TABLE + WORDS * tail + LINK
            self.monitor.journal(link)
            fields[link] = record
        else:
            fields[HEAD] = record
        fields[TAIL] = record

    def get(self, missing: Any) -> tuple[int, bytes, Any]:
        """Take the next record: (size field, payload, the item if known here, else ``missing``)."""
        monitor, fields = self.monitor, self.fields
        monitor.snapshot(FIRST_FIELD, COUNTERS)
        item = missing
        if self.order == _PRIORITY:
            try:
                record = self.heap.pop()  # may raise TypeError: nothing changed yet
            except BaseException:
                monitor.roll_back()
                raise
            item = self.heap.take_item(record, missing)
        else:
            record = fields[HEAD]
            fields[HEAD] = fields[TABLE + WORDS * record + LINK]
            if fields[HEAD] < 0:
                fields[TAIL] = -1
        size, payload = self.slots.read(record)
        self.slots.free(record)
        fields[COUNT] -= 1
        monitor.bump(NOT_FULL)
        monitor.commit()
        return size, payload, item

    def release_views(self) -> None:
        self.heap.release_views()
        self.monitor.release_views()
