"""Where a worker maps the shared-memory segments of large task arguments, and reuses them.

    loads ─▶ view(name, size) ─┬─ a mapping kept from an earlier task of this segment, when it is
                               │  clean: no array of that task is alive, and no page of it was
                               │  written (/proc/self/pagemap: every present page is the
                               │  segment's own, none a private copy)
                               └─ else a fresh copy-on-write mapping (``memory.map_private``)

Every task gets its argument copy-on-write: reading costs no copy, and a task that writes into it
changes only its own pages, as it would a pickled copy; a mapping somebody wrote to is never
handed out again.  Keeping clean mappings matters when the same array goes to task after task:
mapping 256 MB afresh and faulting its pages in costs ~25 ms a task, a kept one ~2 ms for the
pagemap check (bench_numpy.py, 16 tasks: 0.42 s -> see benchmarks/results/numpy.md).

A kept mapping holds the segment's memory even after the parent let the segment go, so a worker
keeps at most ``_KEPT`` of them and drops those whose segment is gone at its next task (checked at
most every ``_PRUNE_EVERY`` seconds), or when it exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import time
import weakref
from collections import OrderedDict

from corepool.shared import memory

__all__ = ["prune", "view"]

_KEPT = 4
"""Argument segments a worker keeps mapped between tasks (a task with more big arrays than this
maps the rest afresh each time)."""
_PRUNE_EVERY = 0.1
"""Seconds between two checks of whether kept segments still exist (~3 µs per segment), so that
a stream of small tasks pays nothing for it."""
_PAGE = mmap.PAGESIZE
_PAGEMAP_ENTRY = 8


class _Mapping:
    """A private mapping of one argument segment, and the view of it last handed to a task."""

    def __init__(self, name: str, size: int) -> None:
        self.size = size
        self.mapping = memory.map_private(name, size)
        probe = ctypes.c_char.from_buffer(self.mapping)
        self.address = ctypes.addressof(probe)
        del probe  # releases the export; the address stays valid while mapped
        self.handed: weakref.ref[memoryview] | None = None

    def reusable(self, size: int) -> bool:
        if size != self.size or (self.handed is not None and self.handed() is not None):
            return False  # an array of an earlier task still uses it
        return not _written(self.address, self.size)

    def hand_out(self, offset: int) -> memoryview:
        view = memoryview(self.mapping)[offset : self.size]
        self.handed = weakref.ref(view)
        return view

    def close(self) -> None:
        with contextlib.suppress(BufferError):  # arrays still use it: it goes with them
            self.mapping.close()


_kept: OrderedDict[str, _Mapping] = OrderedDict()
_next_prune = 0.0


def view(name: str, size: int, offset: int = 0) -> memoryview:
    """Bytes ``offset`` to ``size`` of argument segment ``name`` for one task, copy-on-write."""
    entry = _kept.pop(name, None)
    if entry is None or not entry.reusable(size):
        if entry is not None:
            entry.close()
        entry = _Mapping(name, size)
    _kept[name] = entry
    while len(_kept) > _KEPT:
        _kept.popitem(last=False)[1].close()
    return entry.hand_out(offset)


def prune() -> None:
    """Drop kept mappings of segments that are gone (called for every task; cheap when idle)."""
    global _next_prune
    if not _kept:
        return
    now = time.monotonic()
    if now < _next_prune:
        return
    _next_prune = now + _PRUNE_EVERY
    for name in [name for name in _kept if not memory.exists(name)]:
        _kept.pop(name).close()


# Byte 7 of a pagemap entry holds bits 56-63: 63 present, 62 swapped, 61 file page or shared.
# In a private file mapping, a present page that is not a file page, or a swapped one, is a
# private copy: somebody wrote to it.
_WRITTEN = bytes(int((top & 0xA0) == 0x80 or bool(top & 0x40)) for top in range(256))


def _written(address: int, size: int) -> bool:
    """Whether any page of the private mapping at ``address`` holds a private copy."""
    first, last = address // _PAGE, (address + size - 1) // _PAGE
    wanted = (last - first + 1) * _PAGEMAP_ENTRY
    try:
        with open("/proc/self/pagemap", "rb", buffering=0) as pagemap:
            entries = os.pread(pagemap.fileno(), wanted, first * _PAGEMAP_ENTRY)
    except OSError:
        return True  # cannot tell: never reuse
    if len(entries) != wanted:
        return True
    return b"\x01" in entries[7::_PAGEMAP_ENTRY].translate(_WRITTEN)


os.register_at_fork(after_in_child=_kept.clear)
