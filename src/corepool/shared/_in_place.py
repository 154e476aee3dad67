"""A large argument array shared where it lies: its pages become a mapping of its segment.

The automatic transport copies a large buffer into a segment once (``array_transport``); the
parent then holds the array *and* its copy: 2x the array while the call runs (benchmarks
large_array: 256 MB sent, 515 MB over the interpreters).  Here, as each piece is copied (8 MiB,
``memory.COPIED_PIECE``), the whole pages of the array in that piece are mapped again at the
same addresses, privately from the segment (``MAP_PRIVATE | MAP_FIXED``): the array keeps its
address and its contents, its own pages go back to the system, and the parent reads the
segment's pages, which the workers read too.  A write by the parent afterwards copies that page
for the parent alone, as any write to a private mapping does, so the workers never see it and a
forked child still gets its own copy: a pickled copy's behaviour, without the copy.

    array  [hdr|            whole pages            |tail]     glibc: one mmap(2) per large malloc
    segment [hdr|            (copied)              |tail]     same layout, page-aligned offsets
              └─ first and last partial pages stay ─┘

Only where nothing can be lost, so only when all of these hold (else the copy as before):

* Linux, glibc's ``malloc``, and a writable contiguous buffer (of at least
  ``array_transport.IN_PLACE_BYTES``) that is the whole of one
  allocation glibc made with its own ``mmap`` (its chunk header says so, and ``/proc/self/maps``
  shows private writable memory there, anonymous or already one of our segments): its pages hold
  nothing else, and ``free`` ends with ``munmap``, which ends the segment's mapping too.
  Memory from the heap (``brk``) never: glibc releases it with ``madvise(MADV_DONTNEED)``, after
  which a private file mapping reads the file again instead of zeros.
* Nobody can write the array meanwhile: a write between a piece's copy and its new mapping
  would be lost.  The caller waits for the call (``Pool.map``, ``Pool.starmap``) and no other
  thread runs but corepool's own (``_caller_alone``).
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import sys
import threading

__all__ = ["InPlace", "layout"]

_PAGE = mmap.PAGESIZE
_WORD = ctypes.sizeof(ctypes.c_size_t)
_HEADER = 2 * _WORD
"""glibc's chunk header (previous size, size and flags) before the memory malloc returns."""
_IS_MMAPPED = 0x2
_FLAGS = 0x7
_MAP_FIXED = 0x10  # the same on every Linux architecture; Python's mmap module lacks it
_OUR_SEGMENTS = "/dev/shm/cp-"

# corepool's own threads, which never touch a caller's arrays (its thread workers run user code
# and are not among them).
_ENGINE_THREADS = frozenset(
    {
        "corepool-dispatcher",
        "corepool-results",
        "corepool-preparer",
        "corepool-feeder",
        "corepool-gil-sampler",
    }
)


def _caller_alone(caller: int) -> bool:
    """Whether thread ``caller`` (waiting for its call) is the only one besides corepool's."""
    return all(
        thread.ident == caller or thread.name in _ENGINE_THREADS for thread in threading.enumerate()
    )


class InPlace:
    """The layout of one array whose pages may be mapped from its segment."""

    def __init__(self, chunk: int, address: int, nbytes: int) -> None:
        self.base = chunk
        """The page-aligned start of the allocation: offset 0 of the segment."""
        self.offset = address - chunk
        """Where the array starts in the segment."""
        self.first = -(-address // _PAGE) * _PAGE
        self.end = (address + nbytes) // _PAGE * _PAGE
        """The whole pages of the array: [first, end)."""
        self.content = (ctypes.c_char * (self.offset + nbytes)).from_address(chunk)
        """Header and array, as the segment gets them."""

    def remap(self, fd: int, offset: int, length: int) -> None:
        """Map the whole array pages within bytes [offset, offset + length) of segment ``fd``."""
        start = max(self.first, self.base + offset)
        stop = min(self.end, self.base + offset + length)
        if stop <= start:
            return
        flags = mmap.MAP_PRIVATE | _MAP_FIXED
        protection = mmap.PROT_READ | mmap.PROT_WRITE
        mapped = _libc().mmap(start, stop - start, protection, flags, fd, start - self.base)
        if mapped != start:
            # Not expected (the range is ours and mapped); the contents are in the segment, so
            # the old pages, if the kernel took them, are put back from there.
            error = ctypes.get_errno()
            _restore(start, stop - start, fd, start - self.base)
            raise OSError(error, f"mapping an array's pages from its segment: {os.strerror(error)}")


def layout(data: memoryview, waiting_caller: int) -> InPlace | None:
    """How ``data``'s pages may be mapped from a segment, while thread ``waiting_caller`` waits
    for its call; None where they may not (see the module)."""
    if data.readonly or not data.c_contiguous or not _caller_alone(waiting_caller):
        return None
    if not sys.platform.startswith("linux") or not _glibc_malloc():
        return None
    probe = ctypes.c_char.from_buffer(data)
    address, nbytes = ctypes.addressof(probe), data.nbytes
    del probe  # releases the export; the address stays valid while ``data`` is alive
    chunk = address - _HEADER
    if chunk % _PAGE:
        return None  # not the start of an allocation glibc mmapped (a view, another allocator)
    size_field = ctypes.c_size_t.from_address(address - _WORD).value
    size = size_field & ~_FLAGS
    if not size_field & _IS_MMAPPED or size % _PAGE or chunk + size < address + nbytes:
        return None
    if not _private_memory(chunk, chunk + size):
        return None
    return InPlace(chunk, address, nbytes)


def _private_memory(start: int, end: int) -> bool:
    """Whether [start, end) is all writable private memory, anonymous or our segments' (an
    earlier call mapped some of its pages).  The kernel merges neighbouring anonymous mappings,
    so a mapping may reach beyond the allocation: the chunk header says where that ends."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return False
    covered = start
    for line in lines:
        fields = line.split(None, 5)
        low, high = (int(bound, 16) for bound in fields[0].split(b"-"))
        if high <= covered or low >= end:
            continue
        if low > covered or fields[1] != b"rw-p":
            return False
        path = fields[5].strip().decode(errors="replace") if len(fields) > 5 else ""
        if path and not path.startswith(_OUR_SEGMENTS):
            return False
        covered = high
        if covered >= end:
            return True
    return False


@functools.cache
def _glibc_malloc() -> bool:
    """Whether ``malloc`` is glibc's (not jemalloc or another one preloaded): only glibc's
    chunk headers are read here, and only its ``free`` is known to end with ``munmap``."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    used = ctypes.cast(ctypes.CDLL(None).malloc, ctypes.c_void_p).value
    return used is not None and used == ctypes.cast(libc.malloc, ctypes.c_void_p).value


def _restore(address: int, length: int, fd: int, offset: int) -> None:
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_FIXED
    if _libc().mmap(address, length, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0) != address:
        os.abort()  # the array's memory is gone: nothing safe is left to do
    saved = os.pread(fd, length, offset)
    ctypes.memmove(address, saved, length)


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    return libc
