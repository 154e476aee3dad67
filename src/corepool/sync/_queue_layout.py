"""Where a queue's fields live in its monitor: the counters, the slot table, the heap.

    monitor fields [ counters (16) | slot table: 8 words per slot | heap: 1 word per slot ]
    extra bytes    [ slot 0 (128 B) | slot 1 | ... ]

Shared by the three owners of a queue's storage: ``_queue_slots`` (the slot table and bytes),
``_queue_heap`` (the priority order) and ``_queue_store`` (FIFO/LIFO order and the put/get
steps), and by ``queues`` for the counters it waits on.
"""

from __future__ import annotations

from typing import Literal

from corepool.sync._monitor import FIRST_FIELD

__all__ = [
    "ALL_DONE",
    "COUNT",
    "COUNTERS",
    "FREE_COUNT",
    "FREE_HEAD",
    "FREE_NEXT",
    "FRESH",
    "GETTERS",
    "HEAD",
    "KEY",
    "KEY2",
    "KEY_KIND",
    "LINK",
    "MAXSIZE",
    "NEXT_SEQ",
    "NEXT_SLOT",
    "NOT_EMPTY",
    "NOT_FULL",
    "ORDER",
    "ORDERS",
    "OVERFLOW_BYTES",
    "PUTTERS",
    "SEQ",
    "SIZE",
    "SLOTS",
    "SLOT_BYTES",
    "TABLE",
    "TAIL",
    "UNFINISHED",
    "WORDS",
    "Order",
    "store_fields",
]  # fmt: skip

Order = Literal["fifo", "lifo", "priority"]
ORDERS: dict[str, int] = {"fifo": 0, "lifo": 1, "priority": 2}

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
COUNTERS = 16
TABLE = FIRST_FIELD + COUNTERS
"""The slot table's first field; slot ``s`` owns fields ``TABLE + WORDS * s`` onwards."""
# Per slot: the next slot of the same record, the next free slot, the next record (FIFO/LIFO),
# the record's size (negative: an overflow segment), its put sequence number, its sort key
# (floats, through the float view of the same words) and the key's kind.
NEXT_SLOT, FREE_NEXT, LINK, SIZE, SEQ, KEY, KEY_KIND, KEY2 = range(8)
WORDS = 8


def store_fields(slots: int) -> int:
    """How many monitor fields a store of ``slots`` slots needs (table and heap included)."""
    return COUNTERS + WORDS * slots + slots
