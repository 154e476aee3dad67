"""Shared-memory segments: named POSIX shared memory that pickles by name and never leaks.

Every piece of shared memory corepool makes is a ``Segment`` (locks, queues, values,
``SharedArray``, large task arguments and results) or a ``Dict``/``List`` directory (``_store``),
and the same janitor looks after both: this is the one lifecycle of shared state.

    Segment.create(size) ──▶ shm_open(O_CREAT|O_EXCL) + mmap        ┐
    pickle.dumps(segment) ──▶ (name, janitor address)  ─── any ───▶  ├─▶ janitor: holders, pickles
    pickle.loads(...)     ──▶ Segment.attach(name) + mmap  process   ┘    in flight ──▶ shm_unlink

Lifecycle (who creates, who closes, who unlinks, and when):

* **Creates.**  Any process, with ``Segment.create(size)``.  The creator holds the segment.
* **Attaches.**  Any process that unpickles a ``Segment`` (or an object built on one: a corepool
  ``Lock``, ``Queue``, ``Value``...), or calls ``Segment.attach(name)``.  It then holds the
  segment too.  Within one process, attaching a name already attached returns the *same*
  ``Segment`` object (one mapping per process).  Pickles carry the name only; bytes stay put.
* **Closes.**  Every holder, when it is done: ``close()``, or when its ``Segment`` is garbage
  collected, or when the process exits, crashes or is killed: a process's holds end with it.
  Closing unmaps the memory in that process only.
* **Unlinks.**  Never an attaching process (the standard library's ``resource_tracker`` bug).
  The segment's *janitor*, a small process shared by the process tree, unlinks a name as soon
  as no live process holds it and no pickled handle of it is still in flight (a handle being
  passed to a task, returned from one, or waiting in a queue keeps it alive until unpickled).
  ``unlink()`` ends a segment early; processes that mapped it keep their mapping.  A handle
  stored in a ``Dict`` or ``List`` is kept by that store instead, until its entry is replaced
  or deleted or the store is removed (``_kept``).
* **After crashes.**  Holds are tied to each process's connection to the janitor, which the
  kernel closes however the process ends, so ``SIGKILL`` leaves nothing in ``/dev/shm``.  When
  the whole tree has exited the janitor unlinks whatever is left (pickles never unpickled) and
  exits itself.  No ``resource_tracker`` is involved, so it never warns.

Names are ``/cp-<janitor id>-<random>``: ``/dev/shm/cp-*`` files belong to corepool (a
``Dict``'s directory is ``cp-<janitor id>-<random>.lmdb``).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import mmap
import os
import secrets
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, cast

from corepool.errors import SegmentGoneError
from corepool.shared import _kept
from corepool.shared._janitor_client import CLIENT, JanitorGone, janitor_id

__all__ = ["Segment", "current_janitor", "exists", "map_private", "settle"]


class _PosixShm(Protocol):
    def shm_open(self, path: str, flags: int, mode: int = 0o777) -> int: ...

    def shm_unlink(self, path: str) -> None: ...


_shm = cast(_PosixShm, importlib.import_module("_posixshmem"))

_PAGE = mmap.PAGESIZE
_cache: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()
_cache_lock = threading.Lock()


class Segment:
    """A block of named shared memory, mapped into this process.

    ``buf`` is a writable ``memoryview`` of exactly ``size`` bytes (a new segment is zeroed);
    ``address`` is where it starts in this process (for ``ctypes``).  Pickling a ``Segment``
    sends its name; unpickling attaches (see the module docstring for the lifecycle).
    """

    name: str
    """The POSIX name, with its leading slash (``/cp-...``)."""
    size: int
    janitor: str
    """Address of the janitor that keeps track of who holds this segment."""
    created: bool
    """Whether this process created the segment (as opposed to attaching it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use Segment.create(size) or Segment.attach(name)")

    # -- opening

    @classmethod
    def create(
        cls,
        size: int,
        *,
        reserve: bool = False,
        parent: Segment | None = None,
        content: memoryview | None = None,
        copied: Callable[[int, int, int], None] | None = None,
    ) -> Segment:
        """A new zero-filled segment of ``size`` bytes, held by this process.

        ``reserve`` allocates the memory now (``posix_fallocate``), so a full ``/dev/shm``
        fails here with ``OSError(ENOSPC)`` instead of crashing a later write with ``SIGBUS``.
        ``parent`` keeps this segment alive at least as long as that one (however many
        processes release this one), e.g. storage a queue hands from producer to consumer.
        ``content`` is copied in first, with ``write(2)``: ~95 ms for 256 MB against ~160 ms
        through the mapping, whose first touch of each page is a fault.  ``copied(fd, offset,
        length)`` is told of each piece of it as soon as it is in (``_in_place``).
        """
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"a segment's size must be a positive int, not {size!r}")
        if content is not None and content.nbytes > size:
            raise ValueError(f"{content.nbytes} bytes of content do not fit in {size}")
        address = parent.janitor if parent is not None else CLIENT.default_address()
        prefix = f"/cp-{janitor_id(address)}-"
        name, fd = CLIENT.claim_new(
            address,
            lambda: prefix + secrets.token_hex(6),
            lambda name: _shm.shm_open(name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600),
        )
        try:
            try:
                # Content that fills the segment reserves it already: pwrite(2) allocates every
                # page (a full /dev/shm is ENOSPC there, never a later SIGBUS).  posix_fallocate
                # first clears every page before the write fills it: 256 MB took ~135 ms of CPU
                # that way against ~125 ms without, on a 2-core Xeon (benchmarks large_array).
                filled = content is not None and content.nbytes == size
                _size_file(fd, size, reserve and not filled)
                if content is not None:
                    _write_all(fd, content, copied)
                segment = cls._map(name, fd, size, address, created=True)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                _shm.shm_unlink(name)
            CLIENT.release(name, address)
            raise
        if parent is not None:
            CLIENT.tell(address, f"L {name} {parent.name}")
        return segment

    @classmethod
    def attach(cls, name: str, *, janitor: str | None = None) -> Segment:
        """The segment called ``name``, attached (and held) by this process."""
        return cls._open(name, janitor, "H")

    @classmethod
    def receive(cls, name: str, janitor: str) -> Segment:
        """Attach the segment of a handle that ``send()`` counted in flight (it has arrived)."""
        return cls._open(name, janitor, "A")

    @classmethod
    def _open(cls, name: str, janitor: str | None, verb: str) -> Segment:
        with _cache_lock:
            existing = _cache.get(name)
        if existing is not None and not existing.closed:
            if verb == "A":
                CLIENT.arrived_again(name, existing.janitor)
            return existing
        address = janitor or CLIENT.default_address()
        CLIENT.hold(verb, name, address)
        try:
            fd = _shm.shm_open(name, os.O_RDWR, 0o600)
        except FileNotFoundError:
            CLIENT.release(name, address)
            raise SegmentGoneError(name) from None
        except BaseException:
            CLIENT.release(name, address)
            raise
        try:
            return cls._map(name, fd, os.fstat(fd).st_size, address, created=False)
        except BaseException:
            CLIENT.release(name, address)
            raise
        finally:
            os.close(fd)

    @classmethod
    def _map(cls, name: str, fd: int, size: int, address: str, *, created: bool) -> Segment:
        segment = object.__new__(cls)
        mapping = mmap.mmap(fd, size)
        view = memoryview(mapping)
        probe = ctypes.c_char.from_buffer(mapping)
        segment.address = ctypes.addressof(probe)
        del probe  # releases the export; the address stays valid while mapped
        segment.name, segment.size, segment.janitor, segment.created = name, size, address, created
        segment.buf = view
        segment._mapping = mapping
        segment._finalizer = weakref.finalize(segment, _unmap, view, mapping, name, address)
        # Not at interpreter exit: objects still alive then may use the memory in their own
        # exit hooks, and the process's holds end with its connection to the janitor anyway.
        segment._finalizer.atexit = False
        with _cache_lock:
            _cache[name] = segment
        return segment

    # -- closing

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Release this process's hold and unmap the segment here.

        Views of ``buf`` still in use (a NumPy array over it) keep the memory mapped until they
        are gone.  The segment itself lives on while other processes hold it.
        """
        if self.closed:
            return
        with _cache_lock:
            if _cache.get(self.name) is self:
                del _cache[self.name]
        self._finalizer()

    def unlink(self) -> None:
        """End the segment now: no process can attach it any more (mapped ones keep working)."""
        with contextlib.suppress(FileNotFoundError):
            _shm.shm_unlink(self.name)
        with contextlib.suppress(JanitorGone):
            CLIENT.tell(self.janitor, f"U {self.name}")  # forget it, however many hold it

    def __enter__(self) -> Segment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- pickling

    def send(self) -> tuple[str, str]:
        """(name, janitor) for a pickle: one more handle in flight, until ``receive()``."""
        if self.closed:
            raise ValueError(f"cannot pickle closed segment {self.name}")
        CLIENT.tell(self.janitor, f"P {self.name}")
        return self.name, self.janitor

    def __reduce__(self) -> tuple[Any, ...]:
        if _kept.noted(self.name, self.janitor):  # stored in a Dict or List: it keeps the name
            if self.closed:
                raise ValueError(f"cannot pickle closed segment {self.name}")
            return (_rebuild_stored, (self.name, self.janitor))
        return (_rebuild, self.send())

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.size} bytes"
        return f"<Segment {self.name} {state}>"

    address: int
    buf: memoryview
    _mapping: mmap.mmap
    _finalizer: weakref.finalize[Any, Segment]


def _rebuild(name: str, janitor: str) -> Segment:
    return Segment._open(name, janitor, "A")


def _rebuild_stored(name: str, janitor: str) -> Segment:
    """A handle read from a Dict or List: held here, no pickle in flight counted (``_kept``)."""
    return Segment._open(name, janitor, "H")


def map_private(name: str, size: int) -> mmap.mmap:
    """Map segment ``name`` copy-on-write: reads share its pages, writes stay in this mapping.

    Takes no hold: the caller relies on another process holding the segment meanwhile (the
    parent holds a task's argument segments until the task is done).
    """
    try:
        fd = _shm.shm_open(name, os.O_RDONLY, 0o600)
    except FileNotFoundError:
        raise SegmentGoneError(name) from None
    try:
        return mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)


def exists(name: str) -> bool:
    """Whether segment ``name`` can still be attached (nobody has unlinked it)."""
    try:
        os.close(_shm.shm_open(name, os.O_RDONLY, 0o600))
    except FileNotFoundError:
        return False
    return True


def _size_file(fd: int, size: int, reserve: bool) -> None:
    if reserve:
        os.posix_fallocate(fd, 0, size)
    else:
        os.ftruncate(fd, size)


COPIED_PIECE = 8 << 20
"""Bytes of ``content`` written before ``copied`` hears of them: an array mapped from its segment
piece by piece (``_in_place``) holds its own pages and the segment's together for one piece."""


def _write_all(
    fd: int, data: memoryview, copied: Callable[[int, int, int], None] | None = None
) -> None:
    view = data.cast("B") if data.format != "B" or data.ndim != 1 else data
    # write(2) moves at most ~2 GiB at a time; whoever hears of each piece wants it small.
    piece = (1 << 30) if copied is None else COPIED_PIECE
    written = 0
    while written < view.nbytes:
        start = written
        while written < min(view.nbytes, start + piece):
            written += os.pwrite(fd, view[written : start + piece], written)
        if copied is not None:
            copied(fd, start, written - start)


def _unmap(view: memoryview, mapping: mmap.mmap, name: str, address: str) -> None:
    # Runs from close() or when the Segment is collected.  Views that others still use (a
    # NumPy array over ``buf``) keep the mapping alive until they go; the hold ends now.
    with contextlib.suppress(BufferError):
        view.release()
        mapping.close()
    CLIENT.release(name, address)


def current_janitor() -> str | None:
    """Address of the janitor this process reports to (``None`` before any segment)."""
    return CLIENT.current()


def settle() -> None:
    """Wait until the janitor has acted on everything this process and its exited children told it.

    After ``settle()``, every segment nobody holds any more is gone from ``/dev/shm``.
    """
    address = CLIENT.current()
    if address is not None:
        CLIENT.sync(address)
