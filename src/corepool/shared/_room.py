"""Room for a shared dict or list: its ``max_bytes`` limit and the memory file system under it.

LMDB maps its data file shared and writable; writing to a page the memory file system cannot
provide kills the process with SIGBUS.  ``Room.check`` reserves file-system pages ahead of LMDB
with ``posix_fallocate``, so that a full /dev/shm, like a store at its ``max_bytes``, is a
``CapacityError`` raised before anything is written.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from corepool.errors import CapacityError

PAGE = 4096
_MIN_HEADROOM = 1 << 20
"""Pages reserved beyond LMDB's end: at least 1 MiB, else a quarter of the size.  Up to
``_MIN_HEADROOM / _environment._CHECK_EVERY`` = 8 processes writing at once stay inside the
reservation."""


def map_size_for(max_bytes: int) -> int:
    """LMDB's map: ``max_bytes`` of live data plus slack for copy-on-write.

    Every LMDB write copies the pages it changes, deletions included; a map filled to the last
    page could not even delete.  Writes that add data stop at ``max_bytes`` of live pages, which
    leaves the slack (an eighth, at least 4 MiB: address space, not memory) for the copies.
    """
    return max_bytes + max(4 << 20, max_bytes // 8)


class Room:
    """The limit and the reserved pages of one process's open environment (``lmdb.Environment``)."""

    def __init__(self, env: Any, path: str, max_bytes: int, label: str) -> None:
        self._env = env
        self._path = path
        self._max_bytes = max_bytes
        self._label = label
        self._data_fd = os.open(os.path.join(path, "data.mdb"), os.O_RDWR | os.O_CLOEXEC)
        self._can_reserve = True
        self._reserved = 0  # bytes of data.mdb known to be reserved (st_blocks), a lower bound

    def check(self, size_hint: int, grows: bool) -> None:
        """Before a write of about ``size_hint`` bytes: raise ``CapacityError`` if it cannot fit
        (``grows=False``: it only removes, and may run at the limit), else make sure the file
        system has the pages for it."""
        used = (self._env.info()["last_pgno"] + 1) * PAGE
        # Live pages are some of the used ones: count them (a read transaction, ~1.2 µs) only
        # when the file has grown past the limit.
        limit = self._max_bytes - size_hint
        if grows and used > limit and self.live_bytes() > limit:
            raise self.full()
        if not self._can_reserve:
            return
        headroom = max(_MIN_HEADROOM, used // 4)
        wanted = min(map_size_for(self._max_bytes), used + size_hint + headroom)
        if self._reserved >= wanted:  # reserved earlier (by us; others only add): no fstat
            return
        self._reserved = os.fstat(self._data_fd).st_blocks * 512
        if self._reserved >= wanted:
            return
        try:
            os.posix_fallocate(self._data_fd, used, wanted - used)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                self._can_reserve = False  # a file system without fallocate: nothing to reserve
                return
            raise CapacityError(
                f"no room left in {os.path.dirname(self._path)} to grow "
                f"{self._label} to {_size(wanted)}: the memory file system is full; nothing was "
                "written (free memory there or make it larger)"
            ) from None
        self._reserved = wanted

    def live_bytes(self) -> int:
        """Bytes in pages that hold data now (freed pages not counted)."""
        with self._env.begin() as txn:
            stat = txn.stat()
        pages = stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
        return int(pages + 2) * PAGE

    def full(self) -> CapacityError:
        """The error for a write that would pass ``max_bytes`` (LMDB's map is full)."""
        self._env.reader_check()  # stale readers pin old pages; the next attempt may fit
        return CapacityError(
            f"{self._label} is full: it reached its max_bytes limit of {_size(self._max_bytes)}; "
            "nothing was written (create it with a larger max_bytes=)"
        )

    def close(self) -> None:
        os.close(self._data_fd)


def _size(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:g} {unit}" if unit == "bytes" else f"{count:.4g} {unit}"
        count /= 1024
    return str(count)  # pragma: no cover
