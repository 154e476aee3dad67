"""The progress board: where each worker says which chunk and item it is running.

The parent reads a worker's row only when something goes wrong (the worker died, a timeout may have
expired) or for ``statistics()``, so the worker pays one store per item and no message.  A row is
any mutable sequence of integers: a slice of shared memory for worker processes, a plain list for
worker threads.

    row[CHUNK]    id of the chunk the worker took (written before it unpickles the chunk)
    row[ITEM]     index in that chunk of the item running; UNPACKING before the first,
                  PACKING_BASE + i while pickling result i
    row[STARTED]  time.monotonic_ns() when that item, or the reading or packing phase, started
                  (only when a timeout needs it)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from itertools import count, islice, repeat
from operator import itemgetter, setitem

CHUNK, ITEM, STARTED = 0, 1, 2
ROW_SIZE = 4
UNPACKING = -1
PACKING_BASE = 1 << 40

_first = itemgetter(0)


def tracked(
    items: Sequence[object], start: int, row: MutableSequence[int], with_times: bool
) -> Iterator[object]:
    """Iterate ``items[start:]``, storing each item's index in ``row`` just before it is used.

    Without start times this is all C-level iteration (no Python frame per item): about 45 ns per
    item on top of the call itself (``operator.setitem`` through ``map``; a ``functools.partial`` of
    the row's ``__setitem__`` costs twice that, a Python loop about the same).
    """
    remaining: Iterable[object] = islice(items, start, None) if start else items
    if with_times:
        return _tracked_with_times(remaining, start, row)
    marks = map(setitem, repeat(row), repeat(ITEM), count(start))
    return map(_first, zip(remaining, marks, strict=False))


def _tracked_with_times(
    items: Iterable[object], start: int, row: MutableSequence[int]
) -> Iterator[object]:
    clock = time.monotonic_ns
    for index, item in enumerate(items, start):
        row[STARTED] = clock()
        row[ITEM] = index
        yield item


def begin_chunk(row: MutableSequence[int], chunk_id: int, with_times: bool = False) -> None:
    if with_times:
        row[STARTED] = time.monotonic_ns()
    row[ITEM] = UNPACKING
    row[CHUNK] = chunk_id


def begin_packing(row: MutableSequence[int], index: int, with_times: bool) -> None:
    """The worker is about to pickle result ``index`` (a phase a timeout also covers)."""
    if with_times:
        row[STARTED] = time.monotonic_ns()
    row[ITEM] = PACKING_BASE + index


def new_local_row() -> list[int]:
    return [0] * ROW_SIZE
