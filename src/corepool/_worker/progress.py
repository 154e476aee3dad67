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
from types import ModuleType

_fastpath: ModuleType | None
try:  # the C twin of ``tracked`` (optional: built when a compiler is there)
    from corepool._worker import _fastpath
except ImportError:  # pragma: no cover - exercised where the extension was not built
    _fastpath = None

CHUNK, ITEM, STARTED = 0, 1, 2
ROW_SIZE = 4
UNPACKING = -1
PACKING_BASE = 1 << 40

_first = itemgetter(0)


def tracked(
    items: Sequence[object], start: int, row: MutableSequence[int], with_times: bool
) -> Iterator[object]:
    """Iterate ``items[start:]``, storing each item's index in ``row`` just before it is used.

    A row in shared memory (a process worker's) goes through the C extension ``_fastpath``: one
    8-byte store per item.  Otherwise this is all C-level iteration of Python objects (no Python
    frame per item): about 50 ns per item on top of the call itself (``operator.setitem`` through
    ``map``; a ``functools.partial`` of the row's ``__setitem__`` costs twice that, a Python loop
    about the same), which for a 50 ns function (``x * x``) doubles a worker's time.
    """
    remaining: Iterable[object] = islice(items, start, None) if start else items
    if with_times:
        return _tracked_with_times(remaining, start, row)
    shared: object = row  # typed as a sequence; a process worker's row is a memoryview
    if _fastpath is not None and isinstance(shared, memoryview):
        return _fastpath.tracked(remaining, shared, ITEM, start)  # type: ignore[no-any-return]
    return tracked_in_python(remaining, start, row)


def tracked_in_python(
    remaining: Iterable[object], start: int, row: MutableSequence[int]
) -> Iterator[object]:
    """``tracked`` without the extension (and for thread workers, whose row is a list)."""
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
