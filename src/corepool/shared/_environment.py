"""The storage under ``corepool.Dict`` and ``corepool.List``: LMDB on a memory file system.

    Dict / List handle (any process)              its directory: /dev/shm/cp-<id>-<random>.lmdb/
    ────────────────────────────────              ───────────────────────────────────────────────
    operation ─▶ Environment.read(op)  ─ read txn ──▶ data.mdb  B+trees, copy-on-write pages
                 Environment.write(op) ─ write txn ─▶ lock.mdb  reader table + writer mutex
                   │  one writer at a time across all processes (a robust mutex: a holder
                   │  that dies is detected and its transaction rolled back)
                   │  readers never wait: each reads the last committed snapshot
                   ├─ per thread re-entrant: inside ``with store.transaction()`` every operation
                   │  of that thread joins the open transaction
                   └─ Room.check() (``_room``): enforces max_bytes and reserves file-system
                      pages ahead of LMDB, so a full /dev/shm is a CapacityError before anything
                      is written, not a SIGBUS

One ``Environment`` per process and store.  LMDB must not be used across ``fork()`` and a store
must not be opened twice in one process, so environments live in a per-process registry; a
forked child closes the copies it inherited (safe when no transaction was open at the fork) and
opens its own on first use.

Why LMDB and these options: docs/architecture-dict.md (measurements in benchmarks/results/dict.md).
Who creates and removes the directory: ``_store``.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from corepool.errors import SharedObjectClosedError
from corepool.shared._kept import names_in
from corepool.shared._room import PAGE, Room, map_size_for

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Environment",
    "close_environment",
    "current_pid",
    "environment_for",
]

T = TypeVar("T")

DEFAULT_MAX_BYTES = 1 << 30
"""How large a store may grow unless told otherwise.  Only address space is reserved up front;
memory is taken as the data grows (see ``_room.Room.check``)."""

_MAX_READERS = 1024
"""Concurrent read transactions across all processes (LMDB's reader table; 64 bytes each)."""

_CHECK_EVERY = 128 * 1024
"""Bytes a process may write (estimated) between two checks of the limit and the room left.  A
check costs ~6 µs; a small put is counted as two pages, so one check per ~16 small writes."""


_pid = os.getpid()
_registry_lock = threading.RLock()  # a handle's finalizer may close one mid-open
_environments: dict[str, Environment] = {}
_inherited: dict[str, Environment] = {}


class _ThreadTransaction(threading.local):
    """The write transaction this thread has open on an environment, if any."""

    # A class attribute, so a thread that never opened one reads None without a failed lookup
    # (``getattr(local, "txn", None)`` raises and catches inside: 0.5 µs of a 2 µs d[k] = v).
    txn: Any = None


class Environment:
    """One process's open LMDB environment for one store."""

    def __init__(self, path: str, max_bytes: int, create: bool, label: str) -> None:
        import lmdb

        self.path = path
        self.label = label
        self.pid = _pid
        self.max_bytes = max_bytes
        self._errors = lmdb
        self.env = lmdb.open(
            path,
            map_size=map_size_for(max_bytes),
            subdir=True,
            create=create,
            max_dbs=0,  # one B-tree, keys prefixed by kind: named databases need a write
            # transaction to open in each process, which would wait for other processes' writers
            max_readers=_MAX_READERS,
            sync=False,  # memory file system: nothing to flush, and a crash loses it anyway
            metasync=False,
            writemap=True,  # 3x faster commits than write(2) of each page (docs/architecture-dict)
            readahead=False,
            lock=True,
        )
        try:
            self._room = Room(self.env, path, max_bytes, label)
        except BaseException:
            self.env.close()
            raise
        self.env.reader_check()  # slots of readers that were killed
        self._local = _ThreadTransaction()
        self._active: set[object] = set()
        self._unchecked = _CHECK_EVERY  # the first write checks
        self.open_at_fork = False

    # -- transactions

    def read(self, op: Callable[[Any], T]) -> T:
        """Run ``op(txn)`` in this thread's open write transaction, else in a read transaction."""
        txn = self._local.txn
        if txn is not None:
            return op(txn)
        txn = self._begin(False)
        try:
            return op(txn)
        finally:
            txn.abort()
            self._active.discard(txn)

    def load(self, key: bytes, default: Any) -> Any:
        """The unpickled value under ``key``, or ``default``: ``read`` without a closure (the
        hot path of ``d[k]``: 1.6 µs -> 1.2 µs)."""
        txn = self._local.txn
        if txn is not None:
            raw = txn.get(key)
            return default if raw is None else pickle.loads(raw)
        txn = self._begin(False)
        try:
            raw = txn.get(key)
            return default if raw is None else pickle.loads(raw)
        finally:
            txn.abort()
            self._active.discard(txn)

    def store(
        self, key: bytes, value: bytes, on_insert: Callable[..., None], *insert_args: Any
    ) -> list[str]:
        """Write ``value`` under ``key`` in a transaction of its own; if ``key`` was absent, call
        ``on_insert(txn, *insert_args)`` in it.  Returns the names the replaced value kept
        (``_kept``: nearly always none).

        ``write`` for the hot path of ``d[k] = v``, without a closure, the thread-local or the
        generic wrapping: 3.1 µs -> 2.0 µs a call in one process (benchmarks/results/dict.md).
        Nothing but LMDB runs while the write lock is held unless the key is new.
        """
        self._unchecked += len(value) + 2 * PAGE
        if self._unchecked >= _CHECK_EVERY:
            self._unchecked = 0
            self._room.check(len(value), True)
        txn = self._local.txn
        if txn is not None:  # inside this thread's transaction: join it
            old = self.replace(txn, key, value)
            if old is None:
                on_insert(txn, *insert_args)
            return names_in(old)
        txn = self.env.begin(None, None, True, True)  # write, buffers (see _begin)
        active = self._active
        active.add(txn)
        try:
            old = txn.replace(key, value)
            if old is None:
                self._insert(txn, on_insert, insert_args)
            kept = names_in(old)  # before the commit: ``old`` is a view into this transaction
            txn.commit()
            return kept
        except self._errors.MapFullError:
            txn.abort()
            raise self._room.full() from None
        except BaseException:
            txn.abort()
            raise
        finally:
            active.discard(txn)

    def _insert(self, txn: Any, on_insert: Callable[..., None], args: tuple[Any, ...]) -> None:
        self._local.txn = txn  # operations of on_insert join this transaction
        try:
            on_insert(txn, *args)
        finally:
            self._local.txn = None

    def write(self, op: Callable[[Any], T], size_hint: int = 0, *, grows: bool = True) -> T:
        """Run ``op(txn)`` in a write transaction (this thread's open one, or a new one).

        ``size_hint``: bytes the operation adds; ``grows=False`` for operations that only remove
        (they may run when the store is at its limit).
        """
        self._unchecked += size_hint + 2 * PAGE
        if self._unchecked >= _CHECK_EVERY:
            self._unchecked = 0
            self._room.check(size_hint, grows)
        txn = self._local.txn
        if txn is not None:
            return op(txn)
        txn = self._begin(True)
        self._local.txn = txn
        try:
            result = op(txn)
            self._commit(txn)
            return result
        except BaseException:
            txn.abort()
            raise
        finally:
            self._local.txn = None
            self._active.discard(txn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group this thread's operations into one atomic write transaction (joins an open one)."""
        if self._local.txn is not None:
            yield
            return
        txn = self._begin(True)
        self._local.txn = txn
        try:
            yield
        except BaseException:
            if self.pid == _pid:  # a child forked inside the block must not touch the parent's
                txn.abort()
            raise
        else:
            if self.pid != _pid:
                raise SharedObjectClosedError("a transaction cannot be finished in a forked child")
            self._commit(txn)
        finally:
            self._local.txn = None
            self._active.discard(txn)

    @property
    def in_transaction(self) -> bool:
        return self._local.txn is not None

    def _begin(self, write: bool) -> Any:
        try:
            # (db, parent, write, buffers) by position: parsing keywords costs py-lmdb 0.09 µs
            # of a 0.9 µs write (benchmarks: d[k] = v).
            txn = self.env.begin(None, None, write, True)
        except self._errors.ReadersFullError:
            self.env.reader_check()  # free the slots of dead readers, then try once more
            txn = self.env.begin(None, None, write, True)
        self._active.add(txn)
        return txn

    def reserve_for_rewrite(self) -> None:
        """Before a transaction that may rewrite the whole store: room for a second copy."""
        self._unchecked = 0
        self._room.check(self._room.live_bytes(), grows=False)

    def put(self, txn: Any, key: bytes, value: bytes) -> None:
        """``txn.put`` with a full store reported as ``CapacityError``."""
        try:
            txn.put(key, value)
        except self._errors.MapFullError:
            raise self._room.full() from None

    def replace(self, txn: Any, key: bytes, value: bytes) -> Any:
        """``txn.replace``: store, returning the old value or None; full as ``CapacityError``."""
        try:
            return txn.replace(key, value)
        except self._errors.MapFullError:
            raise self._room.full() from None

    def _commit(self, txn: Any) -> None:
        try:
            txn.commit()
        except self._errors.MapFullError:
            raise self._room.full() from None

    # -- lifecycle

    def close(self) -> None:
        self.env.close()
        self._room.close()

    def close_inherited(self) -> None:
        """In a forked child: close the parent's copy so the store can be opened again."""
        if self.open_at_fork:
            raise SharedObjectClosedError(
                f"the shared object at {self.path} was inherited through fork() while a "
                "transaction on it was open in the parent, so this child cannot use it; pass it "
                "to the child as an argument, or start children with forkserver or spawn"
            )
        self.close()


def environment_for(path: str, max_bytes: int, label: str, *, create: bool = False) -> Environment:
    """This process's environment for the store at ``path``, opened on first use."""
    with _registry_lock:
        environment = _environments.get(path)
        if environment is not None:
            return environment
        stale = _inherited.get(path)
        if stale is not None:
            stale.close_inherited()
            del _inherited[path]
        environment = Environment(path, max_bytes, create, label)
        _environments[path] = environment
        return environment


def close_environment(path: str) -> None:
    with _registry_lock:
        environment = _environments.pop(path, None)
    if environment is not None:
        environment.close()


def any_open() -> bool:
    """Whether this process has a shared environment open (the zygote is not forked then)."""
    return bool(_environments)


def _after_fork_in_child() -> None:
    global _pid, _registry_lock
    _pid = os.getpid()
    _registry_lock = threading.RLock()  # a handle's finalizer may close one mid-open
    for path, environment in _environments.items():
        environment.open_at_fork = bool(environment._active)
        _inherited[path] = environment
    _environments.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def current_pid() -> int:
    return _pid
