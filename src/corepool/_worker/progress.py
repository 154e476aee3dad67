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

import mmap
import os
import time
from collections.abc import Iterable, Iterator, MutableSequence, Sequence
from itertools import count, islice, repeat
from multiprocessing import reduction
from operator import itemgetter, setitem
from types import ModuleType
from typing import Any

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


class Board:
    """The rows of a pool's worker processes: int64s in an anonymous file (a memfd) that the
    parent and each worker map.  A worker started by pickling gets the file with its boot, as
    ``multiprocessing.reduction.DupFd`` passes a fd to a child (the zygote, a forkserver, spawn);
    a forked one has the mapping already.

    Not a ``multiprocessing.heap`` buffer: the heap's import, its arena in a temporary file and
    its bookkeeping cost a program's first pool ~0.7 ms; nor a ``RawArray``, whose ``ctypes``
    a spawned worker would import (~3 ms)."""

    def __init__(self, rows: int, fd: int = -1, *, keep_file: bool = True) -> None:
        """A new board, or (``fd``) the mapping of one made elsewhere; ``keep_file=False``: close
        ``fd`` once mapped (the mapping has a fd of its own), for a board never handed on."""
        self._nbytes = max(rows, 1) * ROW_SIZE * 8
        made = fd < 0
        if made:
            fd = _anonymous_file(self._nbytes)
        try:
            self._map = mmap.mmap(fd, self._nbytes)  # shared, zeroed
        except BaseException:
            if made or not keep_file:
                os.close(fd)
            raise
        if not keep_file:
            os.close(fd)
        self._fd = fd if keep_file else -1
        self._view = memoryview(self._map).cast("q")
        self._rows: list[memoryview] = []

    def row(self, index: int) -> MutableSequence[int]:
        start = index * ROW_SIZE
        row = self._view[start : start + ROW_SIZE]
        self._rows.append(row)
        return row  # type: ignore[return-value]

    def close(self) -> None:
        """Unmap the board and close the file, now rather than when the pool object goes (a
        mapping holds a fd of its own): every row handed out is released with it, so this comes
        after the last worker, whose row it was, has gone."""
        for view in (*self._rows, self._view):
            view.release()
        self._rows.clear()
        self._map.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __reduce__(self) -> tuple[Any, ...]:
        if self._fd < 0:
            raise ValueError("the progress board was closed: no worker can start any more")
        return _attach, (reduction.DupFd(self._fd), self._nbytes // (ROW_SIZE * 8))


def _attach(fd: Any, rows: int) -> Board:
    """A worker's board, from the file its boot brought (``Board.__reduce__``)."""
    return Board(rows, fd.detach(), keep_file=False)


def _anonymous_file(nbytes: int) -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("corepool-progress-board", os.MFD_CLOEXEC)
    else:  # pragma: no cover - Linux has memfd_create since 3.17
        import tempfile

        with tempfile.TemporaryFile() as file:
            fd = os.dup(file.fileno())
    try:
        os.ftruncate(fd, nbytes)
    except BaseException:
        os.close(fd)
        raise
    return fd


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
