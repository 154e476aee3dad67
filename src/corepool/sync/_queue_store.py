"""Where queued items live: fixed-size slots in one segment, in FIFO, LIFO or priority order.

    producer: pickle ──▶ monitor ─▶ take slots ─▶ copy bytes ─▶ link into the order ─▶ wake a getter
    consumer: monitor ─▶ unlink from the order ─▶ copy bytes out ─▶ free slots ─▶ wake a putter
              ──▶ unpickle (outside the monitor)

    segment [ monitor: counters | slot table: 6 words per slot | heap (priority) | slot bytes ]

An item is a *record*: its pickle spread over a chain of 128-byte slots (most small items
take one).  Items over ``OVERFLOW_BYTES`` get a segment of their own, tied to the queue's (the
janitor keeps it while the queue lives) and unlinked by the getter.  Orders:

* FIFO: a singly linked list of records (head, tail);
* LIFO: the same list used as a stack (top);
* priority: a binary heap of record numbers, compared by item (``<``), with a numeric fast path
  when both items are numbers or tuples starting with one (no unpickling needed to compare).

Every change runs inside the monitor with its counters snapshotted and each other field it
touches journaled, so a process killed halfway through a ``put`` or ``get`` is rolled back by
the next one in: the item is either fully in the queue or not at all.  Slots written but not yet
linked are invisible, and freed slots are only reachable through the journaled free-list head.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from corepool.shared.memory import Segment
from corepool.sync._monitor import FIRST_FIELD, Monitor

__all__ = ["OVERFLOW_BYTES", "SLOTS", "SLOT_BYTES", "Order", "QueueStore", "store_fields"]

Order = Literal["fifo", "lifo", "priority"]

SLOT_BYTES = 128
"""Payload per slot: a pickled int, short string or small tuple (14-100 bytes) fits in one."""
OVERFLOW_BYTES = 8192
"""Items above this go to a segment of their own (copying 64 slots in Python costs about as
much as creating a segment, ~40 µs)."""

# Counters, contiguous so that one snapshot saves them all.
(
    COUNT, MAXSIZE, NOT_EMPTY, NOT_FULL, GETTERS, PUTTERS, FREE_HEAD, FRESH, FREE_COUNT,
    HEAD, TAIL, NEXT_SEQ, UNFINISHED, ALL_DONE, SLOTS, ORDER,
) = range(FIRST_FIELD, FIRST_FIELD + 16)  # fmt: skip
_COUNTERS = 16
_TABLE = FIRST_FIELD + _COUNTERS
# Per slot: the next slot of the same record, the next free slot, the next record (FIFO/LIFO),
# the record's size (negative: an overflow segment), its put sequence number, its sort key
# (a float, through the float view of the same words) and the key's kind.
_NEXT_SLOT, _FREE_NEXT, _LINK, _SIZE, _SEQ, _KEY, _KEY_KIND = range(7)
_WORDS = 7
_ORDERS: dict[str, int] = {"fifo": 0, "lifo": 1, "priority": 2}
_KEY_NONE, _KEY_SCALAR, _KEY_HEAD = 0, 1, 2
_EXACT_INT = 2**53


def store_fields(slots: int) -> int:
    """How many monitor fields a store of ``slots`` slots needs (table and heap included)."""
    return _COUNTERS + _WORDS * slots + slots


def sort_key(item: object) -> tuple[int, float]:
    """(kind, number) such that, for two items of the same non-zero kind, comparing the numbers
    gives the same answer as ``<`` on the items, as long as the numbers differ."""
    kind, head = _KEY_SCALAR, item
    if type(item) is tuple and item:
        kind, head = _KEY_HEAD, item[0]
    if type(head) is float and not math.isnan(head):
        return kind, head
    if type(head) is int and -_EXACT_INT <= head <= _EXACT_INT:
        return kind, float(head)
    return _KEY_NONE, 0.0


class QueueStore:
    """One process's view of a queue's storage.  Every method expects the monitor held."""

    def __init__(self, monitor: Monitor, segment: Segment) -> None:
        self.monitor = monitor
        self.segment = segment
        self.fields = monitor.fields
        self.slots = int(self.fields[SLOTS])
        self.order = int(self.fields[ORDER])
        self.heap = _TABLE + _WORDS * self.slots
        self.data = monitor.extra
        self.floats: Any = monitor.fields.cast("B").cast("d")
        self.items: dict[int, Any] = {}  # seq -> item, for priority comparisons

    @staticmethod
    def initialise(fields: Any, slots: int, maxsize: int, order: Order) -> None:
        fields[SLOTS], fields[MAXSIZE], fields[ORDER] = slots, maxsize, _ORDERS[order]
        fields[FREE_HEAD] = fields[HEAD] = fields[TAIL] = -1
        fields[FREE_COUNT] = slots

    # -- space

    def has_room(self, slots_needed: int) -> bool:
        fields = self.fields
        maxsize = fields[MAXSIZE]
        if maxsize > 0 and fields[COUNT] >= maxsize:
            return False
        return bool(fields[FREE_COUNT] >= slots_needed)

    def _take_slots(self, needed: int) -> list[int]:
        fields, table = self.fields, _TABLE
        taken = []
        for _ in range(needed):
            slot = fields[FREE_HEAD]
            if slot >= 0:
                fields[FREE_HEAD] = fields[table + _WORDS * slot + _FREE_NEXT]
            else:
                slot = fields[FRESH]
                fields[FRESH] = slot + 1
            taken.append(slot)
        fields[FREE_COUNT] -= needed
        return taken

    def _free_slots(self, first: int) -> None:
        fields, table = self.fields, _TABLE
        slot, freed = first, 0
        while slot >= 0:
            row = table + _WORDS * slot
            following = fields[row + _NEXT_SLOT]
            fields[row + _FREE_NEXT] = fields[FREE_HEAD]
            fields[FREE_HEAD] = slot
            slot = following
            freed += 1
        fields[FREE_COUNT] += freed

    # -- records

    def _write(self, payload: bytes, size: int) -> int:
        """Copy ``payload`` into fresh slots; returns the record's first slot (not yet linked)."""
        fields, data, table = self.fields, self.data, _TABLE
        needed = max(1, -(-len(payload) // SLOT_BYTES))
        slots = self._take_slots(needed)
        for index, slot in enumerate(slots):
            chunk = payload[index * SLOT_BYTES : (index + 1) * SLOT_BYTES]
            data[slot * SLOT_BYTES : slot * SLOT_BYTES + len(chunk)] = chunk
            fields[table + _WORDS * slot + _NEXT_SLOT] = (
                slots[index + 1] if index + 1 < needed else -1
            )
        head = table + _WORDS * slots[0]
        fields[head + _SIZE] = size
        fields[head + _SEQ] = fields[NEXT_SEQ]
        fields[NEXT_SEQ] += 1
        return slots[0]

    def read(self, first: int) -> tuple[int, bytes]:
        """(size field, payload bytes) of the record starting at ``first``."""
        fields, data, table = self.fields, self.data, _TABLE
        size = fields[table + _WORDS * first + _SIZE]
        length = size if size >= 0 else -size
        if length <= SLOT_BYTES:
            return size, bytes(data[first * SLOT_BYTES : first * SLOT_BYTES + length])
        parts, slot, left = [], first, length
        while slot >= 0:
            take = min(left, SLOT_BYTES)
            parts.append(data[slot * SLOT_BYTES : slot * SLOT_BYTES + take])
            left -= take
            slot = fields[table + _WORDS * slot + _NEXT_SLOT]
        return size, b"".join(parts)

    def seq_of(self, record: int) -> int:
        return int(self.fields[_TABLE + _WORDS * record + _SEQ])

    # -- put and get

    def put(self, payload: bytes, size: int, key: tuple[int, float], item: Any) -> None:
        """Store a record; the caller checked ``has_room`` and holds the monitor."""
        monitor, fields = self.monitor, self.fields
        monitor.snapshot(FIRST_FIELD, _COUNTERS)
        try:
            record = self._write(payload, size)
            if self.order == 2:
                self._set_key(record, key)
                self._heap_push(record, item, key)  # may raise TypeError: compare first
                self.items[self.seq_of(record)] = item
                self._trim_cache()
            elif self.order == 1:
                fields[_TABLE + _WORDS * record + _LINK] = fields[HEAD]
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

    def _append(self, record: int) -> None:
        fields = self.fields
        fields[_TABLE + _WORDS * record + _LINK] = -1
        tail = fields[TAIL]
        if tail >= 0:
            link = _TABLE + _WORDS * tail + _LINK
            self.monitor.journal(link)
            fields[link] = record
        else:
            fields[HEAD] = record
        fields[TAIL] = record

    def get(self, missing: Any) -> tuple[int, bytes, Any]:
        """Take the next record: (size field, payload, the item if known here, else ``missing``)."""
        monitor, fields = self.monitor, self.fields
        monitor.snapshot(FIRST_FIELD, _COUNTERS)
        if self.order == 2:
            try:
                record = self._heap_pop()  # may raise TypeError: nothing changed yet
            except BaseException:
                monitor.roll_back()
                raise
        else:
            record = fields[HEAD]
            fields[HEAD] = fields[_TABLE + _WORDS * record + _LINK]
            if fields[HEAD] < 0:
                fields[TAIL] = -1
        size, payload = self.read(record)
        item = self.items.pop(self.seq_of(record), missing) if self.order == 2 else missing
        self._free_slots(record)
        fields[COUNT] -= 1
        monitor.bump(NOT_FULL)
        monitor.commit()
        return size, payload, item

    # -- the priority heap

    def _set_key(self, record: int, key: tuple[int, float]) -> None:
        row = _TABLE + _WORDS * record
        self.fields[row + _KEY_KIND] = key[0]
        self.floats[row + _KEY] = key[1]

    def _key_of(self, record: int) -> tuple[int, float]:
        row = _TABLE + _WORDS * record
        return int(self.fields[row + _KEY_KIND]), float(self.floats[row + _KEY])

    def _item_of(self, record: int) -> Any:
        seq = self.seq_of(record)
        if seq not in self.items:
            from corepool.sync.queues import decode

            size, payload = self.read(record)
            self.items[seq] = decode(size, payload, keep=True)
            self._trim_cache()
        return self.items[seq]

    def _trim_cache(self) -> None:
        # Items taken by other processes never leave this cache through get(); bound it.
        limit = 2 * int(self.fields[COUNT]) + 64
        while len(self.items) > limit:
            del self.items[next(iter(self.items))]

    def _less(self, a: int, a_item: Any, a_key: tuple[int, float], b: int) -> bool:
        b_key = self._key_of(b)
        if a_key[0] and a_key[0] == b_key[0] and a_key[1] != b_key[1]:
            return a_key[1] < b_key[1]
        return bool(a_item < self._item_of(b))

    def _heap_push(self, record: int, item: Any, key: tuple[int, float]) -> None:
        fields, heap = self.fields, self.heap
        position = int(fields[COUNT])
        moves: list[int] = []
        while position > 0:  # find the place first: a failing comparison changes nothing
            parent = (position - 1) // 2
            if not self._less(record, item, key, fields[heap + parent]):
                break
            moves.append(position)
            position = parent
        self.monitor.journal(*(heap + index for index in moves), heap + position)
        for index in moves:
            fields[heap + index] = fields[heap + (index - 1) // 2]
        fields[heap + position] = record

    def _heap_pop(self) -> int:
        fields, heap = self.fields, self.heap
        count = int(fields[COUNT])
        top, last = int(fields[heap]), int(fields[heap + count - 1])
        if count == 1:
            return top
        last_item, last_key = self._item_of(last), self._key_of(last)
        size, position, path = count - 1, 0, []
        while True:
            child = 2 * position + 1
            if child >= size:
                break
            right = child + 1
            if right < size and self._less(
                fields[heap + right], self._item_of(fields[heap + right]),
                self._key_of(fields[heap + right]), fields[heap + child],
            ):  # fmt: skip
                child = right
            if not self._less(fields[heap + child], self._item_of(fields[heap + child]),
                              self._key_of(fields[heap + child]), last):  # fmt: skip
                break
            path.append(child)
            position = child
        del last_item, last_key
        self.monitor.journal(heap, *(heap + (child - 1) // 2 for child in path), heap + position)
        for child in path:
            fields[heap + (child - 1) // 2] = fields[heap + child]
        fields[heap + position] = last
        return top
