"""A priority queue's order: a binary heap of record numbers in the monitor, compared by item.

    put: sort_key(item) ─▶ row's key words ─▶ push (compare up, then move)
    get: pop (compare down to a leaf and back up, then move) ─▶ the smallest record

Items are compared with ``<``, like ``queue.PriorityQueue``.  Unpickling an item to compare it
costs ~1 µs, so each record carries up to two numbers from its item (``sort_key``): a number,
or the first one or two numbers of a tuple such as ``(priority, counter, data)``.  Where those
numbers differ they decide; on a tie, or for other items, the items themselves are compared
(unpickled once per process and cached by put sequence number).  ``less`` is the one place
that rule is written.

All comparisons of a push or pop happen before any field changes, so a comparison that raises
(``TypeError``: items that do not compare) leaves the heap as it was.  Every method expects the
monitor held.
"""

from __future__ import annotations

import math
from typing import Any

from corepool.sync._monitor import Monitor
from corepool.sync._queue_items import decode
from corepool.sync._queue_layout import COUNT, KEY, KEY2, KEY_KIND, SLOTS, TABLE, WORDS
from corepool.sync._queue_slots import Slots

__all__ = ["NO_KEY", "PriorityHeap", "SortKey", "sort_key"]

SortKey = tuple[int, float, float]
"""(kind, first number, second number) of an item; see ``sort_key``."""
_KEY_NONE, _KEY_SCALAR, _KEY_HEAD, _KEY_TWO = 0, 1, 2, 3
NO_KEY: SortKey = (_KEY_NONE, 0.0, 0.0)
_EXACT_INT = 2**53
_UNKNOWN = object()


def _exact(value: object) -> float | None:
    """``value`` as a float if that loses nothing and compares the same, else None."""
    if type(value) is float:
        return None if math.isnan(value) else value
    if type(value) is int and -_EXACT_INT <= value <= _EXACT_INT:
        return float(value)
    return None


def sort_key(item: object) -> SortKey:
    """(kind, first, second): numbers that order items as ``<`` does, without unpickling them.

    Kind 1: the item is a number.  Kind 2: a tuple starting with a number; kind 3: with two.
    Where the numbers of two items of compatible kinds differ, they decide; otherwise (a tie,
    or kind 0: anything else) the items themselves are compared.
    """
    if type(item) is tuple and item:
        first = _exact(item[0])
        if first is None:
            return NO_KEY
        second = _exact(item[1]) if len(item) > 1 else None
        return (_KEY_HEAD, first, 0.0) if second is None else (_KEY_TWO, first, second)
    number = _exact(item)
    return NO_KEY if number is None else (_KEY_SCALAR, number, 0.0)


class PriorityHeap:
    """One process's view of a queue's heap, and its cache of the items it has compared."""

    def __init__(self, monitor: Monitor, slots: Slots) -> None:
        self.monitor = monitor
        self.slots = slots
        self.fields = monitor.fields
        self.floats: Any = monitor.fields.cast("B").cast("d")
        self.base = TABLE + WORDS * int(self.fields[SLOTS])
        self.items: dict[int, Any] = {}  # put sequence number -> item

    # -- keys and items

    def set_key(self, record: int, key: SortKey) -> None:
        row = TABLE + WORDS * record
        self.fields[row + KEY_KIND] = key[0]
        self.floats[row + KEY] = key[1]
        self.floats[row + KEY2] = key[2]

    def key_of(self, record: int) -> SortKey:
        row = TABLE + WORDS * record
        return int(self.fields[row + KEY_KIND]), self.floats[row + KEY], self.floats[row + KEY2]

    def remember(self, record: int, item: Any) -> None:
        """Cache the item just pushed as ``record`` (its putter need not unpickle it to compare)."""
        self.items[self.slots.seq_of(record)] = item
        if len(self.items) > 2 * self.fields[COUNT] + 64:
            self.trim_cache()

    def take_item(self, record: int, missing: Any) -> Any:
        """The cached item of ``record`` (leaving the cache), else ``missing``."""
        return self.items.pop(self.slots.seq_of(record), missing)

    def _item_of(self, record: int) -> Any:
        seq = self.slots.seq_of(record)
        if seq not in self.items:
            size, payload = self.slots.read(record)
            self.items[seq] = decode(size, payload, keep=True)
            self.trim_cache()
        return self.items[seq]

    def trim_cache(self) -> None:
        # Items taken by other processes never leave this cache through get(); bound it.
        limit = 2 * int(self.fields[COUNT]) + 64
        while len(self.items) > limit:
            del self.items[next(iter(self.items))]

    def less(self, a: int, a_key: SortKey, b: int, b_key: SortKey, a_item: Any = _UNKNOWN) -> bool:
        """Whether record ``a`` sorts before record ``b``: by their numbers where those decide,
        else by the items themselves (``a_item`` if the caller has it)."""
        kind_a, kind_b = a_key[0], b_key[0]
        # Both keyed, and both numbers or both tuples (a number and a tuple do not compare).
        if kind_a and kind_b and (kind_a == _KEY_SCALAR) == (kind_b == _KEY_SCALAR):
            if a_key[1] != b_key[1]:
                return a_key[1] < b_key[1]
            if kind_a == _KEY_TWO and kind_b == _KEY_TWO and a_key[2] != b_key[2]:
                return a_key[2] < b_key[2]
        if a_item is _UNKNOWN:
            a_item = self._item_of(a)
        return bool(a_item < self._item_of(b))

    # -- push and pop

    def push(self, record: int, item: Any, key: SortKey) -> None:
        """Place ``record`` (whose key is set); ``COUNT`` does not count it yet."""
        fields, heap, less, key_of = self.fields, self.base, self.less, self.key_of
        position = int(fields[COUNT])
        moves: list[int] = []
        while position > 0:  # find the place first: a failing comparison changes nothing
            parent = (position - 1) // 2
            above = fields[heap + parent]
            if not less(record, key, above, key_of(above), item):
                break
            moves.append(position)
            position = parent
        if moves:  # otherwise ``position`` is past the heap's end: nothing to save
            self.monitor.journal(*[heap + index for index in moves], heap + position)
        for index in moves:
            fields[heap + index] = fields[heap + (index - 1) // 2]
        fields[heap + position] = record

    def pop(self) -> int:
        """Remove the smallest record from the heap and return it (``COUNT`` still counts it).

        Floyd's order: walk down the smaller children to a leaf (one comparison per level),
        then up from there to where the last record belongs (usually one or two more), about
        half the comparisons of the textbook sift."""
        fields, heap, less, key_of = self.fields, self.base, self.less, self.key_of
        count = int(fields[COUNT])
        top, last = int(fields[heap]), int(fields[heap + count - 1])
        if count == 1:
            return top
        size, position, path = count - 1, 0, []
        while True:
            child = 2 * position + 1
            if child >= size:
                break
            smaller = fields[heap + child]
            smaller_key = key_of(smaller)
            if child + 1 < size:
                right = fields[heap + child + 1]
                right_key = key_of(right)
                if less(right, right_key, smaller, smaller_key):
                    child, smaller, smaller_key = child + 1, right, right_key
            path.append((child, smaller, smaller_key))
            position = child
        last_key = key_of(last)
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

    def release_views(self) -> None:
        self.floats.release()
