"""Shared-memory segments: files in a spool on the memory file system, mapped with ``mmap``.

This is the one place that makes, maps and removes the memory behind ``SharedArray`` and behind
large task arguments and results.  It uses only ``os`` and ``mmap`` (a file in ``/dev/shm`` is what
``shm_open`` makes on Linux), not ``multiprocessing.shared_memory``, whose resource tracker unlinks
segments that other processes still use and warns about segments it does not own.  When the
shared-memory layer of ``corepool.shared.memory`` lands, this module is the one to switch over.

Who owns what:

    create_segment / write_segment   the calling process owns the file (it is in its spool):
                                     ``unlink_segment`` removes it, and so does the owner's exit
                                     or death (the spool's watcher)
    map_segment                      maps an existing file; never removes it
    adopt_segment                    maps, then removes the name at once: the caller holds the
                                     only mapping, and the memory goes with its last reference
    publish_segment                  copies into a file named in another process's spool only
                                     once complete (which then owns it); dying while copying
                                     leaves nothing there

The memory is reserved with ``posix_fallocate`` when the file is made, so a full memory file
system is an ``OSError(ENOSPC)`` then, never a SIGBUS when a mapping is first written.
"""

from __future__ import annotations

import errno
import itertools
import mmap
import os
from typing import Literal

from corepool.shared._spool import spool_directory

__all__ = [
    "adopt_segment",
    "create_segment",
    "map_segment",
    "publish_segment",
    "unlink_segment",
    "write_segment",
]

MapMode = Literal["shared", "private", "readonly"]
_counter = itertools.count(1)


def _new_path(directory: str, prefix: str) -> str:
    return os.path.join(directory, f"{prefix}-{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}")


def create_segment(nbytes: int, prefix: str = "segment") -> tuple[str, mmap.mmap]:
    """A new zero-filled segment in this process's spool, mapped shared and writable."""
    path = _new_path(spool_directory(), prefix)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        _reserve(fd, nbytes)
        mapping = mmap.mmap(fd, max(nbytes, 1), flags=mmap.MAP_SHARED)
    except BaseException:
        os.close(fd)
        unlink_segment(path)
        raise
    os.close(fd)
    return path, mapping


def write_segment(data: memoryview, prefix: str = "segment") -> str:
    """A new segment in this process's spool holding a copy of ``data`` (one copy, no mapping)."""
    path = _new_path(spool_directory(), prefix)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        _reserve(fd, data.nbytes)
        _write_all(fd, data)
    except BaseException:
        os.close(fd)
        unlink_segment(path)
        raise
    os.close(fd)
    return path


def publish_segment(data: memoryview, directory: str, prefix: str = "result") -> str:
    """Copy ``data`` into a new segment named in ``directory`` (another process's spool).

    The name appears only once the copy is complete: the copy is made in an unnamed file
    (``O_TMPFILE``) that is then linked in, or where the kernel cannot link one (some sandboxes
    refuse with EXDEV), in this process's own spool and then renamed into ``directory``.  Either
    way, dying while copying leaves nothing in ``directory``.
    """
    path = _new_path(directory, prefix)
    if _links_unnamed_files(directory):
        fd = os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            _reserve(fd, data.nbytes)
            _write_all(fd, data)
            os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
        finally:
            os.close(fd)
        return path
    staged = write_segment(data, "staged")
    try:
        os.rename(staged, path)
    except BaseException:
        unlink_segment(staged)
        raise
    return path


_unnamed_links: dict[str, bool] = {}


def _links_unnamed_files(directory: str) -> bool:
    """Whether an ``O_TMPFILE`` file can be named in ``directory`` (tried once, empty)."""
    device = os.stat(directory).st_dev
    key = str(device)
    if key not in _unnamed_links:
        try:
            fd = os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError:
            _unnamed_links[key] = False
        else:
            probe = _new_path(directory, "probe")
            try:
                os.link(f"/proc/self/fd/{fd}", probe, follow_symlinks=True)
                os.unlink(probe)
                _unnamed_links[key] = True
            except OSError:
                _unnamed_links[key] = False
            finally:
                os.close(fd)
    return _unnamed_links[key]


def map_segment(path: str, nbytes: int, mode: MapMode) -> mmap.mmap:
    """Map an existing segment.

    ``shared``: writes are seen by every process; ``private``: writes stay in this mapping
    (copy-on-write, as a pickled copy would behave); ``readonly``: writes raise.
    """
    writable = mode == "shared"
    fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
    try:
        if mode == "shared":
            return mmap.mmap(fd, max(nbytes, 1), flags=mmap.MAP_SHARED)
        if mode == "private":
            return mmap.mmap(
                fd, max(nbytes, 1), flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE
            )
        return mmap.mmap(fd, max(nbytes, 1), flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def adopt_segment(path: str, nbytes: int) -> mmap.mmap:
    """Map a segment shared and writable, then remove its name: it is this mapping's alone."""
    try:
        return map_segment(path, nbytes, "shared")
    finally:
        unlink_segment(path)


def unlink_segment(path: str) -> None:
    """Remove a segment's name (mappings stay valid until they are released)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _reserve(fd: int, nbytes: int) -> None:
    os.ftruncate(fd, max(nbytes, 1))
    if nbytes:
        try:
            os.posix_fallocate(fd, 0, nbytes)
        except OSError as error:
            if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # nothing to reserve there
                raise


def _write_all(fd: int, data: memoryview) -> None:
    view = data.cast("B") if data.format != "B" or data.ndim != 1 else data
    written = 0
    while written < view.nbytes:
        written += os.write(fd, view[written : written + (1 << 30)])
