"""The progress board: where each worker says which chunk and item it is running.

The parent reads a worker's row only when something goes wrong (the worker died, a timeout may have
expired) or for ``statistics()``, so the worker pays one store per item and no message.  A row is
any mutable sequence of integers: a slice of shared memory for worker processes, a plain list for
worker threads.

    row[CHUNK]    id of the chunk the worker took (written before it unpickles the chunk)
    row[ITEM]     index in that chunk of the item running; UNPACKING before the first,
                  PACKING_BASE + i while pickling result i
    row[STARTED]  time.monotonic_ns() when that item started (only when timeouts need it)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from functools import partial
from itertools import count, islice
from operator import itemgetter

CHUNK, ITEM, STARTED = 0, 1, 2
ROW_SIZE = 4
UNPACKING = -1
PACKING_BASE = 1 << 40

_first = itemgetter(0)


def tracked(
    items: Sequence[object], start: int, row: MutableSequence[int], with_times: bool
) -> Iterator[object]:
    """Iterate ``items[start:]``, storing each item's index in ``row`` just before it is used.

    Without start times this is all C-level iteration (no Python frame per item), which keeps
    the cost near 50 ns per item on tiny tasks.
    """
    remaining: Iterable[object] = islice(items, start, None) if start else items
    if with_times:
        return _tracked_with_times(remaining, start, row)
    setter = partial(row.__setitem__, ITEM)
    return map(_first, zip(remaining, map(setter, count(start))))


def _tracked_with_times(
    items: Iterable[object], start: int, row: MutableSequence[int]
) -> Iterator[object]:
    clock = time.monotonic_ns
    for index, item in enumerate(items, start):
        row[STARTED] = clock()
        row[ITEM] = index
        yield item


def begin_chunk(row: MutableSequence[int], chunk_id: int) -> None:
    row[ITEM] = UNPACKING
    row[CHUNK] = chunk_id


def new_local_row() -> list[int]:
    return [0] * ROW_SIZE
