"""A queue's records: each item's bytes spread over a chain of 128-byte slots.

    take ─▶ [ free list, then never-used slots ] ─▶ write chain ─▶ (linked by the order)
    read chain ─▶ free ─▶ back on the free list

A record is named by its first slot; that slot's table row carries the record's size
(negative: the bytes are an overflow segment's name) and its put sequence number.  Every
method expects the monitor held and the change's counters snapshotted by the caller.
"""

from __future__ import annotations

from typing import Any

from corepool.sync._queue_layout import (
    FREE_COUNT,
    FREE_HEAD,
    FREE_NEXT,
    FRESH,
    NEXT_SEQ,
    NEXT_SLOT,
    SEQ,
    SIZE,
    SLOT_BYTES,
    TABLE,
    WORDS,
)

__all__ = ["Slots"]


class Slots:
    """One process's view of a queue's slot table and slot bytes."""

    def __init__(self, fields: Any, data: Any) -> None:
        self.fields = fields
        self.data = data

    def take(self, needed: int) -> list[int]:
        fields = self.fields
        taken = []
        for _ in range(needed):
            slot = fields[FREE_HEAD]
            if slot >= 0:
                fields[FREE_HEAD] = fields[TABLE + WORDS * slot + FREE_NEXT]
            else:
                slot = fields[FRESH]
                fields[FRESH] = slot + 1
            taken.append(slot)
        fields[FREE_COUNT] -= needed
        return taken

    def free(self, first: int) -> None:
        """Put the record starting at ``first`` back on the free list, slot by slot."""
        fields = self.fields
        slot, freed = first, 0
        while slot >= 0:
            row = TABLE + WORDS * slot
            following = fields[row + NEXT_SLOT]
            fields[row + FREE_NEXT] = fields[FREE_HEAD]
            fields[FREE_HEAD] = slot
            slot = following
            freed += 1
        fields[FREE_COUNT] += freed

    def write(self, payload: bytes, size: int) -> int:
        """Copy ``payload`` into fresh slots; returns the record's first slot (not yet linked)."""
        fields, data = self.fields, self.data
        needed = max(1, -(-len(payload) // SLOT_BYTES))
        slots = self.take(needed)
        for index, slot in enumerate(slots):
            chunk = payload[index * SLOT_BYTES : (index + 1) * SLOT_BYTES]
            data[slot * SLOT_BYTES : slot * SLOT_BYTES + len(chunk)] = chunk
            fields[TABLE + WORDS * slot + NEXT_SLOT] = (
                slots[index + 1] if index + 1 < needed else -1
            )
        head = TABLE + WORDS * slots[0]
        fields[head + SIZE] = size
        fields[head + SEQ] = fields[NEXT_SEQ]
        fields[NEXT_SEQ] += 1
        return slots[0]

    def read(self, first: int) -> tuple[int, bytes]:
        """(size field, payload bytes) of the record starting at ``first``."""
        fields, data = self.fields, self.data
        size = fields[TABLE + WORDS * first + SIZE]
        length = size if size >= 0 else -size
        if length <= SLOT_BYTES:
            return size, bytes(data[first * SLOT_BYTES : first * SLOT_BYTES + length])
        parts, slot, left = [], first, length
        while slot >= 0:
            take = min(left, SLOT_BYTES)
            parts.append(data[slot * SLOT_BYTES : slot * SLOT_BYTES + take])
            left -= take
            slot = fields[TABLE + WORDS * slot + NEXT_SLOT]
        return size, b"".join(parts)

    def seq_of(self, record: int) -> int:
        return int(self.fields[TABLE + WORDS * record + SEQ])
