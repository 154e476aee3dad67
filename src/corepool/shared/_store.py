"""What ``Dict`` and ``List`` share: a directory of LMDB files, held through the tree's janitor.

    Dict() ──▶ mkdir <root>/cp-<janitor id>-<random>.lmdb/  (told to the janitor first: C)
               LMDB environment (``_environment``): data.mdb + lock.mdb
    pickle  ──▶ (class, directory, janitor, max_bytes)  ─── any process ───▶ attach: A
    close() / garbage collection / exit / SIGKILL of a holder ──▶ its hold ends

The directory is a name the janitor keeps track of exactly like a shared-memory segment
(``memory``): it removes the directory, with its files, once no live process holds it and no
pickled handle of it is in flight.  Lifecycle:

* **Creates.**  Any process, with ``Dict()`` / ``List()``: the *owner*.  It holds the store.
* **Attaches.**  Any process that unpickles a handle (a pool task's argument or result, a
  ``multiprocessing.Process`` argument, a value in another ``Dict``) holds it too; a forked
  child holds what its parent held.  One handle object per store per process.
* **Closes.**  Every holder: ``close()``, garbage collection of its handle, exit or death.  That
  closes the process's LMDB environment and ends its hold.
* **Removes.**  The owner's ``close()`` removes the files at once (every other handle then
  fails: "no longer exists"; processes with the environment open keep reading their pages).
  Otherwise the janitor, when the last holder is gone, so a Dict made in a task and returned
  from it outlives the worker.
* **After crashes.**  A killed process's hold ends with its connection to the janitor; a
  killed writer's transaction is rolled back by LMDB (its robust writer mutex).
* **Values naming shared objects.**  A ``Queue``, ``Lock``, ``Dict``... stored as a value is kept
  alive by this store until its entry is replaced or deleted, or the store is removed
  (``_kept``), however often it is read back and dropped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

from corepool.errors import SharedObjectClosedError
from corepool.shared import _kept
from corepool.shared._environment import (
    DEFAULT_MAX_BYTES,
    Environment,
    close_environment,
    current_pid,
    environment_for,
)
from corepool.shared._janitor import STORE_SUFFIX
from corepool.shared._janitor_client import CLIENT, JanitorGone, janitor_id
from corepool.shared._keys import dump_value

__all__ = ["SharedStore", "shared_root"]

T = TypeVar("T")

_ROOT_ENV = "COREPOOL_SHARED_DIR"
_PAGE = 4096

_handles: weakref.WeakValueDictionary[str, SharedStore] = weakref.WeakValueDictionary()


def shared_root() -> str:
    """Where stores live: ``$COREPOOL_SHARED_DIR``, else ``/dev/shm``, else the temp directory.

    ``/dev/shm`` is a tmpfs (memory) on Linux; the temp directory is the fallback elsewhere.
    """
    configured = os.environ.get(_ROOT_ENV)
    if configured:
        root = configured
    elif os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        root = "/dev/shm"
    else:
        root = tempfile.gettempdir()
    if any(character.isspace() for character in root):  # the janitor's messages split on spaces
        raise ValueError(f"{_ROOT_ENV} must be a path without spaces, not {root!r}")
    return os.path.abspath(root)


class SharedStore:
    """A store's directory and this process's handle on it (see the module docstring)."""

    _kind: ClassVar[str] = "store"
    _label: ClassVar[str] = "corepool.store"
    """How errors name the object, e.g. ``corepool.Dict`` (set once per class: a hot path)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._label = f"corepool.{cls._kind}"

    _path: str
    _janitor: str
    _max_bytes: int
    _owner_pid: int
    _env: Environment | None
    _finalizer: weakref.finalize[Any, SharedStore]

    def __init__(self, *, max_bytes: int | None = None) -> None:
        size = _check_max_bytes(max_bytes)
        address = CLIENT.default_address()
        prefix = os.path.join(shared_root(), f"cp-{janitor_id(address)}-")
        path, _ = CLIENT.claim_new(
            address,
            lambda: prefix + secrets.token_hex(6) + STORE_SUFFIX,
            lambda path: os.mkdir(path, 0o700),
        )
        try:
            environment = environment_for(path, size, self._label, create=True)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            CLIENT.release(path, address)
            raise
        self._bind(path, address, size, current_pid(), environment)

    def _bind(
        self, path: str, janitor: str, max_bytes: int, owner_pid: int, environment: Environment
    ) -> None:
        self._path, self._janitor, self._max_bytes = path, janitor, max_bytes
        self._owner_pid, self._env = owner_pid, environment
        self._finalizer = weakref.finalize(self, _let_go, path, janitor)
        # Not at interpreter exit: the process's hold ends with its connection anyway.
        self._finalizer.atexit = False
        _handles[path] = self

    @classmethod
    def _attach(cls, path: str, janitor: str, max_bytes: int, verb: str = "A") -> SharedStore:
        """``verb``: ``A`` for a handle counted in flight, ``H`` for one read from a store."""
        existing = _handles.get(path)
        if existing is not None and existing._env is not None:
            if verb == "A":
                CLIENT.arrived_again(path, janitor)
            return existing
        CLIENT.hold(verb, path, janitor)
        try:
            if not os.path.isdir(path):
                raise SharedObjectClosedError(
                    f"the corepool.{cls._kind} at {path} no longer exists: its owner closed it, "
                    "or every process that held it let it go"
                )
            environment = environment_for(path, max_bytes, f"corepool.{cls._kind}")
        except BaseException:
            CLIENT.release(path, janitor)
            raise
        handle = cls.__new__(cls)
        handle._bind(path, janitor, max_bytes, -1, environment)
        return handle

    def __reduce__(self) -> tuple[Any, ...]:
        if self._env is None:
            raise SharedObjectClosedError(f"cannot pass a closed corepool.{self._kind}")
        handle = (type(self), self._path, self._janitor, self._max_bytes)
        if _kept.noted(self._path, self._janitor):  # stored in a Dict or List: kept by it
            return (_attach_store, (*handle, "H"))
        CLIENT.tell(self._janitor, f"P {self._path}")  # in flight until unpickled
        return (_attach_store, handle)

    # -- values that name other shared objects (``_kept``)

    def _dump(self, value: object, key: object = None) -> bytes:
        """``value`` pickled to store here; the shared objects it names are kept by this store
        from now on (until ``_let_go_of`` its entry, or the store's end)."""
        with _kept.collecting(self._janitor) as names:
            blob = dump_value(value, self._label, key)
        if not names:
            return blob
        _kept.keep(self._path, self._janitor, names)
        return _kept.wrap(blob, names)

    def _let_go_of(self, names: list[str]) -> None:
        """Entries that named ``names`` were replaced or deleted (call once the write is done).

        Inside ``transaction()`` the change may still be rolled back: the names stay kept.
        """
        if names and not self._environment().in_transaction:
            _kept.let_go(self._path, self._janitor, names)

    def _environment(self) -> Environment:
        environment = self._env
        if environment is None:
            raise SharedObjectClosedError(f"operation on a closed corepool.{self._kind}")
        if environment.pid != current_pid():
            environment = self._env = environment_for(self._path, self._max_bytes, self._label)
        return environment

    # -- public lifecycle

    @property
    def name(self) -> str:
        """The store's directory; other processes attach by this name."""
        return self._path

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def owner(self) -> bool:
        """Whether this process created the object (its ``close()`` then removes it)."""
        return self._owner_pid == current_pid()

    @property
    def closed(self) -> bool:
        return self._env is None

    def close(self) -> None:
        """Detach this process; in the owner, also remove the files (every handle then fails)."""
        environment, self._env = self._env, None
        if environment is None:
            return
        self._finalizer.detach()
        if environment.pid == current_pid():
            close_environment(self._path)
        if self._owner_pid == current_pid():
            shutil.rmtree(self._path, ignore_errors=True)
            with contextlib.suppress(JanitorGone):
                CLIENT.tell(self._janitor, f"U {self._path}")  # forget it, however many hold it
        CLIENT.release(self._path, self._janitor)

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self: Any) -> Iterator[Any]:
        """Make this thread's operations in the block one atomic step (a write lock).

        Other writers, in any process, wait until the block ends; readers elsewhere keep reading
        the state before it.  The block's changes appear together when it ends, or not at all if
        it raises.  Nested blocks join the outer one.
        """
        with self._environment().transaction():
            yield self


def _let_go(path: str, janitor: str) -> None:
    # A handle was garbage collected: nothing can be using its environment (every operation
    # holds the handle), so close it here, and end this process's hold.
    close_environment(path)
    CLIENT.release(path, janitor)


def _attach_store(
    cls: type[SharedStore], path: str, janitor: str, max_bytes: int, verb: str = "A"
) -> SharedStore:
    return cls._attach(path, janitor, max_bytes, verb)


def _check_max_bytes(max_bytes: int | None) -> int:
    if max_bytes is None:
        return DEFAULT_MAX_BYTES
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f"max_bytes must be an int, not {type(max_bytes).__name__}")
    if max_bytes < 64 * 1024:
        raise ValueError(f"max_bytes must be at least 64 KiB, got {max_bytes}")
    return (max_bytes + _PAGE - 1) // _PAGE * _PAGE
