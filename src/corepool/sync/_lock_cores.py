"""The fast paths of ``Lock``, ``RLock``, ``Semaphore`` (acquire, release, ``with``) and ``Event``
(set, clear, is_set); in C or in Python.

A lock's segment (the layout ``_robust_locks.c`` also knows):

    [ pthread_mutex_t (64 B) | holder pid | holder token | holder thread | depth | policy ]

``LockCore`` and ``RLockCore`` are the base classes that give ``Lock`` and ``RLock`` these
methods: the C extension's types when it is built (``Lock.acquire`` is then a single C call),
else ``PyLockCore`` and ``PyRLockCore`` below, which do the same through ctypes.  Both take the
uncontended path without leaving the fast path, and hand everything rare back to the lock class:

* ``_lock_failed(code, block, timeout) -> bool``: the mutex answered ``EOWNERDEAD`` (holder
  died), ``EDEADLK`` (this thread holds it) or an error; True means "now locked, record me";
* ``_refuse_release() -> Exception``: what to raise for a release by a non-holder.

``SemaphoreCore`` is the base of ``Semaphore``: ``_robust.SemaphoreCore`` does the uncontended
acquire and release in C (monitor trylock, journal, holder row, commit, unlock) and hands the
rest to the semaphore's ``_acquire_slowly(block, timeout)`` / ``_release_slowly()``, the Python
reference implementation; ``PySemaphoreCore`` (ctypes backend) always calls those.
``EventCore`` likewise: ``set`` / ``clear`` in C, ``_set_slowly`` / ``_clear_slowly`` when the
monitor is busy (and always for ``PyEventCore``); ``is_set`` reads the flag.

A core first needs ``_attach(segment.buf)`` (the C type keeps the memory mapped while it lives).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from threading import get_ident
from typing import TYPE_CHECKING, Any

from corepool.sync import _native, _process
from corepool.sync._acquire_arguments import acquire_arguments
from corepool.sync._native import lock_mutex, trylock, unlock

__all__ = [
    "DEPTH",
    "FIELDS",
    "PID",
    "POLICY",
    "THREAD",
    "TOKEN",
    "EventCore",
    "LockCore",
    "PyEventCore",
    "PyLockCore",
    "PyRLockCore",
    "PySemaphoreCore",
    "RLockCore",
    "SemaphoreCore",
]

PID, TOKEN, THREAD, DEPTH, POLICY = range(5)
"""Indices of the int64 fields after the mutex."""
FIELDS = 5

_pid = _process.PID
_token = _process.TOKEN  # copies: a module global is the cheapest read on the fast paths


def _refresh() -> None:
    global _pid, _token
    _pid = _process.PID
    _token = _process.TOKEN


os.register_at_fork(after_in_child=_refresh)  # after _process's own hook, which sets new values


class PyLockCore:
    """``Lock``'s acquire and release through ctypes (the twin of ``_robust.LockCore``)."""

    _mutex: Any
    _fields: Any
    # Hooks the lock class defines (the module docstring says when they are called):
    _lock_failed: Callable[[int, bool, float | None], bool]
    _refuse_release: Callable[[], Exception]

    def _attach(self, memory: memoryview) -> None:
        """Nothing to keep: the lock's ``_mutex`` handle and ``_fields`` view are enough."""

    def acquire(
        self, block: bool = True, timeout: float | None = None, *, blocking: bool | None = None
    ) -> bool:
        """True once held; False when not blocking or the timeout ran out.  ``blocking=`` is
        threading's spelling of ``block`` (with its rules: ``_acquire_arguments``)."""
        if blocking is not None:
            block, timeout = acquire_arguments(block, timeout, blocking, lock_timeouts=True)
        tried = trylock(self._mutex)
        if tried == 0 or self._acquire_slowly(tried, block, timeout):
            self._fields[PID] = _pid
            return True
        return False

    def __enter__(self) -> bool:
        return self.acquire()

    def release(self) -> None:
        if unlock(self._mutex):
            raise self._refuse_release()

    def __exit__(self, *exc_info: object) -> None:
        if unlock(self._mutex):
            raise self._refuse_release()

    def _acquire_slowly(self, tried: int, block: bool, timeout: float | None) -> bool:
        """After ``trylock`` answered ``tried``: wait if allowed; True once locked."""
        result = tried
        if tried == errno.EBUSY:
            if not block:
                return False
            result = lock_mutex(self._mutex, _deadline(timeout))
        if result == 0:
            return True
        if result == errno.ETIMEDOUT:
            return False
        return self._lock_failed(result, block, timeout)


class PyRLockCore(PyLockCore):
    """``RLock``'s acquire and release through ctypes (the twin of ``_robust.RLockCore``)."""

    def acquire(
        self, block: bool = True, timeout: float | None = None, *, blocking: bool | None = None
    ) -> bool:
        if blocking is not None:
            block, timeout = acquire_arguments(block, timeout, blocking, lock_timeouts=True)
        fields = self._fields
        me = get_ident()
        if fields[THREAD] == me and fields[TOKEN] == _token:
            fields[DEPTH] += 1
            return True
        tried = trylock(self._mutex)
        if tried == 0 or self._acquire_slowly(tried, block, timeout):
            fields[PID] = _pid
            fields[TOKEN] = _token
            fields[THREAD] = me
            fields[DEPTH] = 1
            return True
        return False

    def __enter__(self) -> bool:
        return self.acquire()

    def release(self) -> None:
        fields = self._fields
        if fields[THREAD] != get_ident() or fields[TOKEN] != _token or fields[DEPTH] <= 0:
            raise self._refuse_release()
        depth = fields[DEPTH] - 1
        fields[DEPTH] = depth
        if depth == 0:
            fields[TOKEN] = 0
            fields[THREAD] = 0
            unlock(self._mutex)

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class PySemaphoreCore:
    """``Semaphore``'s acquire and release on the ctypes backend: the Python reference path
    (the twin of ``_robust.SemaphoreCore``, which does the uncontended calls in C)."""

    _row: int
    _row_pid: int
    _exit_hook_pid: int
    # Hooks the semaphore class defines: its Python reference path.
    _acquire_slowly: Callable[..., bool]
    _release_slowly: Callable[..., None]

    def _attach(self, memory: memoryview) -> None:
        """Nothing to keep: the semaphore's monitor holds its views."""

    def acquire(
        self, block: bool = True, timeout: float | None = None, *, blocking: bool | None = None
    ) -> bool:
        if blocking is not None:
            block, timeout = acquire_arguments(block, timeout, blocking, lock_timeouts=False)
        return self._acquire_slowly(block, timeout)

    def __enter__(self) -> bool:
        return self._acquire_slowly()

    def release(self, n: int = 1) -> None:
        self._release_slowly(n)

    def __exit__(self, *exc_info: object) -> None:
        self._release_slowly()


class PyEventCore:
    """``Event``'s set, clear and is_set on the ctypes backend (twin of ``_robust.EventCore``)."""

    # Hooks the event class defines.
    _set_slowly: Callable[[], None]
    _clear_slowly: Callable[[], None]
    _is_set: Callable[[], bool]

    def _attach(self, memory: memoryview) -> None:
        """Nothing to keep: the event's monitor holds its views."""

    def set(self) -> None:
        self._set_slowly()

    def clear(self) -> None:
        self._clear_slowly()

    def is_set(self) -> bool:
        return self._is_set()


def _deadline(timeout: float | None) -> float | None:
    # multiprocessing's rule: a negative timeout means 0 (as deadline_of in locks.py)
    return None if timeout is None else time.monotonic() + max(0.0, float(timeout))


if TYPE_CHECKING:
    LockCore = PyLockCore
    RLockCore = PyRLockCore
    SemaphoreCore = PySemaphoreCore
    EventCore = PyEventCore
elif _native.BACKEND == "c":
    from corepool.sync._robust import EventCore, LockCore, RLockCore, SemaphoreCore
else:
    LockCore, RLockCore, SemaphoreCore = PyLockCore, PyRLockCore, PySemaphoreCore
    EventCore = PyEventCore
