"""Where queued items live: fixed-size slots in one segment, in FIFO, LIFO or priority order.

    producer: pickle ─▶ monitor ─▶ take slots ─▶ copy bytes ─▶ link into the order ─▶ wake getter
    consumer: monitor ─▶ unlink from the order ─▶ copy bytes out ─▶ free slots ─▶ wake putter
              ─▶ unpickle (outside the monitor)

    segment [ monitor: counters | slot table: 8 words per slot | heap (priority) | slot bytes ]

An item is a *record*: its pickle spread over a chain of 128-byte slots (most small items
take one).  Items over ``OVERFLOW_BYTES`` get a segment of their own, tied to the queue's (the
janitor keeps it while the queue lives) and unlinked by the getter.  Orders:

* FIFO: a singly linked list of records (head, tail);
* LIFO: the same list used as a stack (top);
* priority: a binary heap of record numbers, compared by item (``<``); records carry up to two
  numeric sort keys (see ``sort_key``) so that numbers and ``(priority, counter, ...)`` tuples
  compare without being unpickled.

One-slot items (most) take ``put_small``/``get_small``, the same steps inlined: at ~2 µs a
call, a Python function call is a measurable part of the work.

Every change runs inside the monitor with its counters snapshotted and each other field it
touches journaled, so a process killed halfway through a ``put`` or ``get`` is rolled back by
the next one in: the item is either fully in the queue or not at all.  Slots written but not yet
linked are invisible, and freed slots are only reachable through the journaled free-list head.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from corepool.shared.memory import Segment
from corepool.sync._monitor import (
    FIRST_FIELD,
    JOURNAL,
    JOURNAL_LENGTH,
    SNAP_LENGTH,
    SNAP_START,
    SNAPSHOT,
    Monitor,
)

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
# (floats, through the float view of the same words) and the key's kind.
_NEXT_SLOT, _FREE_NEXT, _LINK, _SIZE, _SEQ, _KEY, _KEY_KIND, _KEY2 = range(8)
_WORDS = 8
_ORDERS: dict[str, int] = {"fifo": 0, "lifo": 1, "priority": 2}
_KEY_NONE, _KEY_SCALAR, _KEY_HEAD, _KEY_TWO = 0, 1, 2, 3
_EXACT_INT = 2**53
_UNKNOWN = object()


def store_fields(slots: int) -> int:
    """How many monitor fields a store of ``slots`` slots needs (table and heap included)."""
    return _COUNTERS + _WORDS * slots + slots


def _exact(value: object) -> float | None:
    """``value`` as a float if that loses nothing and compares the same, else None."""
    if type(value) is float:
        return None if math.isnan(value) else value
    if type(value) is int and -_EXACT_INT <= value <= _EXACT_INT:
        return float(value)
    return None


def sort_key(item: object) -> tuple[int, float, float]:
    """(kind, first, second): numbers that order items as ``<`` does, without unpickling them.

    Kind 1: the item is a number.  Kind 2: a tuple starting with a number; kind 3: with two.
    Where the numbers of two items of compatible kinds differ, they decide; otherwise (a tie,
    or kind 0: anything else) the items themselves are compared.
    """
    if type(item) is tuple and item:
        first = _exact(item[0])
        if first is None:
            return _KEY_NONE, 0.0, 0.0
        second = _exact(item[1]) if len(item) > 1 else None
        return (_KEY_HEAD, first, 0.0) if second is None else (_KEY_TWO, first, second)
    number = _exact(item)
    return (_KEY_NONE, 0.0, 0.0) if number is None else (_KEY_SCALAR, number, 0.0)


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

    # -- fast paths: FIFO or LIFO, items of one slot (most items), everything inlined

    def put_small(self, payload: bytes, item: Any = None, key: Any = None) -> bool:
        """Store a one-slot item; False if there is no room.  Priority order needs the item
        and its ``sort_key`` (a failed comparison raises and changes nothing)."""
        f = self.fields
        maxsize = f[MAXSIZE]
        if (maxsize > 0 and f[COUNT] >= maxsize) or f[FREE_COUNT] < 1:
            return False
        f[SNAPSHOT : SNAPSHOT + _COUNTERS] = f[FIRST_FIELD : FIRST_FIELD + _COUNTERS]
        f[SNAP_START] = FIRST_FIELD
        f[SNAP_LENGTH] = _COUNTERS
        slot = f[FREE_HEAD]
        if slot >= 0:
            f[FREE_HEAD] = f[_TABLE + _WORDS * slot + _FREE_NEXT]
        else:
            slot = f[FRESH]
            f[FRESH] = slot + 1
        f[FREE_COUNT] -= 1
        start = slot * SLOT_BYTES
        self.data[start : start + len(payload)] = payload
        row = _TABLE + _WORDS * slot
        f[row + _NEXT_SLOT] = -1
        f[row + _SIZE] = len(payload)
        if self.order == 2:
            self._push_small(slot, row, item, key)
        elif self.order == 1:
            f[row + _LINK] = f[HEAD]
            f[HEAD] = slot
        else:
            f[row + _LINK] = -1
            tail = f[TAIL]
            if tail >= 0:
                link = _TABLE + _WORDS * tail + _LINK
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

    def _push_small(self, slot: int, row: int, item: Any, key: tuple[int, float, float]) -> None:
        f = self.fields
        self._set_key(slot, key)
        seq = f[NEXT_SEQ]
        f[row + _SEQ] = seq
        f[NEXT_SEQ] = seq + 1
        try:
            self._heap_push(slot, item, key)
        except BaseException:
            self.monitor.roll_back()
            raise
        self.items[seq] = item
        if len(self.items) > 2 * f[COUNT] + 64:
            self._trim_cache()

    def get_small(self) -> bytes | None:
        """Take the next item if it is a one-slot item (FIFO or LIFO order), else None."""
        f = self.fields
        record = f[HEAD]
        row = _TABLE + _WORDS * record
        size = f[row + _SIZE]
        if size < 0 or f[row + _NEXT_SLOT] >= 0:
            return None
        f[SNAPSHOT : SNAPSHOT + _COUNTERS] = f[FIRST_FIELD : FIRST_FIELD + _COUNTERS]
        f[SNAP_START] = FIRST_FIELD
        f[SNAP_LENGTH] = _COUNTERS
        following = f[row + _LINK]
        f[HEAD] = following
        if following < 0:
            f[TAIL] = -1
        start = record * SLOT_BYTES
        payload = bytes(self.data[start : start + size])
        f[row + _FREE_NEXT] = f[FREE_HEAD]
        f[FREE_HEAD] = record
        f[FREE_COUNT] += 1
        f[COUNT] -= 1
        f[NOT_FULL] = (f[NOT_FULL] + 1) & 0x7FFFFFFF
        f[SNAP_LENGTH] = 0
        return payload

    # -- put and get

    def put(self, payload: bytes, size: int, key: tuple[int, float, float], item: Any) -> None:
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

    def _set_key(self, record: int, key: tuple[int, float, float]) -> None:
        row = _TABLE + _WORDS * record
        self.fields[row + _KEY_KIND] = key[0]
        self.floats[row + _KEY] = key[1]
        self.floats[row + _KEY2] = key[2]

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

    def _less(self, a: int, b: int, a_item: Any = _UNKNOWN, a_key: Any = None) -> bool:
        """Whether record ``a`` sorts before record ``b`` (items unpickled only on a tie)."""
        fields, floats = self.fields, self.floats
        row_a, row_b = _TABLE + _WORDS * a, _TABLE + _WORDS * b
        if a_key is None:
            a_key = (fields[row_a + _KEY_KIND], floats[row_a + _KEY], floats[row_a + _KEY2])
        kind_a, kind_b = a_key[0], fields[row_b + _KEY_KIND]
        # Both keyed, and both numbers or both tuples (a number and a tuple do not compare).
        if kind_a and kind_b and (kind_a == _KEY_SCALAR) == (kind_b == _KEY_SCALAR):
            first_b = floats[row_b + _KEY]
            if a_key[1] != first_b:
                return bool(a_key[1] < first_b)
            if kind_a == _KEY_TWO and kind_b == _KEY_TWO:
                second_b = floats[row_b + _KEY2]
                if a_key[2] != second_b:
                    return bool(a_key[2] < second_b)
        if a_item is _UNKNOWN:
            a_item = self._item_of(a)
        return bool(a_item < self._item_of(b))

    def _heap_push(self, record: int, item: Any, key: tuple[int, float, float]) -> None:
        fields, heap = self.fields, self.heap
        position = int(fields[COUNT])
        moves: list[int] = []
        while position > 0:  # find the place first: a failing comparison changes nothing
            parent = (position - 1) // 2
            if not self._less(record, fields[heap + parent], item, key):
                break
            moves.append(position)
            position = parent
        if moves:  # otherwise ``position`` is past the heap's end: nothing to save
            self.monitor.journal(*[heap + index for index in moves], heap + position)
        for index in moves:
            fields[heap + index] = fields[heap + (index - 1) // 2]
        fields[heap + position] = record

    def _key(self, record: int) -> tuple[int, float, float]:
        row = _TABLE + _WORDS * record
        floats = self.floats
        return self.fields[row + _KEY_KIND], floats[row + _KEY], floats[row + _KEY2]

    def _key_less(
        self, a: int, a_key: tuple[int, float, float], b: int, b_key: tuple[int, float, float]
    ) -> bool:
        kind_a, kind_b = a_key[0], b_key[0]
        if kind_a and kind_b and (kind_a == _KEY_SCALAR) == (kind_b == _KEY_SCALAR):
            if a_key[1] != b_key[1]:
                return a_key[1] < b_key[1]
            if kind_a == _KEY_TWO and kind_b == _KEY_TWO and a_key[2] != b_key[2]:
                return a_key[2] < b_key[2]
        return bool(self._item_of(a) < self._item_of(b))

    def _heap_pop(self) -> int:
        """Remove the smallest record from the heap and return it.

        Floyd's order: walk down the smaller children to a leaf (one comparison per level),
        then up from there to where the last record belongs (usually one or two more), about
        half the comparisons of the textbook sift.  All comparisons come before any change, so
        one that raises leaves the heap as it was."""
        fields, floats, heap, less = self.fields, self.floats, self.heap, self._key_less
        count = int(fields[COUNT])
        top, last = int(fields[heap]), int(fields[heap + count - 1])
        if count == 1:
            return top
        size, position, path = count - 1, 0, []
        while True:  # keys read inline: this loop is most of a priority get
            child = 2 * position + 1
            if child >= size:
                break
            smaller = fields[heap + child]
            row = _TABLE + _WORDS * smaller
            smaller_key = (fields[row + _KEY_KIND], floats[row + _KEY], floats[row + _KEY2])
            if child + 1 < size:
                right = fields[heap + child + 1]
                row = _TABLE + _WORDS * right
                right_key = (fields[row + _KEY_KIND], floats[row + _KEY], floats[row + _KEY2])
                if (
                    right_key[1] < smaller_key[1]
                    if right_key[0] == _KEY_TWO == smaller_key[0] and right_key[1] != smaller_key[1]
                    else less(right, right_key, smaller, smaller_key)
                ):
                    child, smaller, smaller_key = child + 1, right, right_key
            path.append((child, smaller, smaller_key))
            position = child
        key = self._key
        last_key = key(last)
        depth = len(path)
        while depth and not less(path[depth - 1][1], path[depth - 1][2], last, last_key):
            depth -= 1
        moved = path[:depth]
        final = moved[-1][0] if moved else 0
        self.monitor.journal(
            heap, *[heap + (index - 1) // 2 for index, _, _ in moved], heap + final
        )
        for index, record, _ in moved:
            fields[heap + (index - 1) // 2] = record
        fields[heap + final] = last
        return top
