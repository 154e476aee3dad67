"""``Lock`` and ``RLock``: multiprocessing's locks, passable anywhere, surviving a dead holder.

Each lock is one robust, process-shared pthread mutex in its own small segment:

    segment  [ pthread_mutex_t (64 B) | holder pid | holder token | holder thread | depth | policy ]

* uncontended ``acquire`` is one ``pthread_mutex_trylock`` and one store (the holder's pid, so
  that a waiter can name a dead holder); ``release`` is one ``pthread_mutex_unlock``;
* a contended ``acquire`` sleeps in the kernel (``pthread_mutex_clocklock``, GIL released), in
  slices so Ctrl-C still works in the main thread;
* when a holder dies (``SIGKILL``, a crash, a thread that ended while holding it) the kernel
  marks the mutex; the next ``acquire`` repairs it and, by default, releases it again and raises
  ``HolderDiedError`` naming the dead pid.  With ``on_holder_death="recover"`` that ``acquire``
  simply succeeds.  Nobody ever waits forever for a dead holder.

Unlike ``multiprocessing.Lock``, a corepool lock must be released by the thread that acquired
it (the kernel's record of the holder is what makes recovery possible); releasing someone
else's lock raises ``LockNotOwnedError``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import threading
import time
from threading import get_ident
from typing import Literal

from corepool.errors import HolderDiedError, LockNotOwnedError
from corepool.shared.memory import Segment
from corepool.sync import _native, _process
from corepool.sync._native import MUTEX_BYTES, trylock, unlock
from corepool.sync._shared import SharedObject

__all__ = ["Lock", "RLock"]

HolderPolicy = Literal["raise", "recover"]
_POLICIES: dict[str, int] = {"raise": 0, "recover": 1}

# int64 fields after the mutex
_PID, _TOKEN, _THREAD, _DEPTH, _POLICY = range(5)
_SEGMENT_BYTES = MUTEX_BYTES + 8 * 8

_pid = os.getpid()
_token = _process.TOKEN  # a copy: a module global is the cheapest read on the fast paths


def _refresh_pid() -> None:
    global _pid, _token
    _pid = os.getpid()
    _token = _process.TOKEN


os.register_at_fork(after_in_child=_refresh_pid)
_held_forever: list[Segment] = []  # see _retire


def deadline_of(block: bool, timeout: float | None) -> float | None:
    """``multiprocessing``'s rules: no blocking means no wait; a negative timeout means 0."""
    if not block:
        return time.monotonic()
    if timeout is None:
        return None
    return time.monotonic() + max(0.0, float(timeout))


class _MutexLock(SharedObject):
    """What ``Lock`` and ``RLock`` share: the segment, the mutex, dead-holder handling."""

    _kind = "Lock"
    _mutex: ctypes.c_void_p
    _fields: memoryview

    def __init__(self, *, on_holder_death: HolderPolicy = "raise") -> None:
        if on_holder_death not in _POLICIES:
            raise ValueError(
                f"on_holder_death must be 'raise' or 'recover', not {on_holder_death!r}"
            )
        segment = Segment.create(_SEGMENT_BYTES)
        _native.init_mutex(segment.address)
        segment.buf[MUTEX_BYTES:].cast("q")[_POLICY] = _POLICIES[on_holder_death]
        self._register(segment)

    def _bind(self, segment: Segment) -> None:
        super()._bind(segment)
        self._mutex = ctypes.c_void_p(segment.address)
        self._fields = segment.buf[MUTEX_BYTES:_SEGMENT_BYTES].cast("q")
        self._on_collect(_retire, self._fields, segment)

    def _lock_slowly(self, tried: int, block: bool, timeout: float | None) -> bool:
        """Lock the mutex after ``trylock`` returned ``tried``; False on timeout.

        The caller records itself as the holder."""
        result = tried
        if tried == errno.EBUSY:
            result = _native.lock_mutex(self._mutex, deadline_of(block, timeout))
        if result == 0:
            return True
        if result == errno.ETIMEDOUT:
            return False
        if result == errno.EOWNERDEAD:
            return self._recover()
        if result == errno.EDEADLK:
            return self._wait_for_self(block, timeout)
        raise OSError(result, f"pthread_mutex_lock: {errno.errorcode.get(result, result)}")

    def _recover(self) -> bool:
        """This thread just locked a mutex whose holder died: repair it, then apply the policy."""
        dead = self._fields[_PID]
        _native.make_consistent(self._mutex)
        self._fields[_DEPTH] = 0
        self._fields[_TOKEN] = 0
        self._fields[_THREAD] = 0
        if self._fields[_POLICY] == _POLICIES["recover"]:
            return True
        unlock(self._mutex)
        if dead == _pid:
            raise HolderDiedError(f"{self!r} (a thread of this process ended holding it)", dead)
        raise HolderDiedError(repr(self), None if _process.is_alive(dead) else dead)

    def _wait_for_self(self, block: bool, timeout: float | None) -> bool:
        # This thread holds the lock: nobody else can release it, so the wait cannot succeed.
        if not block:
            return False
        if timeout is None:
            raise RuntimeError(
                f"deadlock: this thread already holds {self!r} and is waiting for it forever"
            )
        threading.Event().wait(max(0.0, float(timeout)))
        return False

    def _probe(self) -> str:
        """``"mine"`` (this thread holds it), ``"free"`` or ``"other"``, without changing it."""
        result = trylock(self._mutex)
        if result == errno.EDEADLK:
            return "mine"
        if result == errno.EOWNERDEAD and self._recover():  # raises unless policy is recover
            result = 0
        if result == 0:
            unlock(self._mutex)
            return "free"
        return "other"

    def _not_owned(self) -> LockNotOwnedError | ValueError:
        if self._probe() == "free":
            return ValueError(f"release of an unlocked {self._kind} ({self!r})")
        return LockNotOwnedError(
            f"{self!r} is held by another thread or process; a corepool {self._kind} must be "
            "released by the thread that acquired it"
        )

    def __repr__(self) -> str:
        return f"<corepool.{self._kind} {self._segment.name}>"


class Lock(_MutexLock):
    """A lock shared by processes and threads: ``multiprocessing.Lock`` that can be passed anywhere.

    ``acquire(block=True, timeout=None)`` returns ``True`` once held, ``False`` when
    ``block=False`` or the timeout ran out.  Use it as a context manager.  See the module
    docstring for what happens when a holder dies.
    """

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        tried = trylock(self._mutex)
        if tried == 0:
            self._fields[_PID] = _pid
            return True
        if self._lock_slowly(tried, block, timeout):
            self._fields[_PID] = _pid
            return True
        return False

    __enter__ = acquire

    def release(self) -> None:
        if unlock(self._mutex):
            raise self._not_owned()

    def __exit__(self, *exc_info: object) -> None:
        if unlock(self._mutex):
            raise self._not_owned()

    # -- for Condition

    def _is_owned(self) -> bool:
        return self._probe() == "mine"

    def _release_save(self) -> int:
        self.release()
        return 1

    def _acquire_restore(self, depth: int) -> None:
        self.acquire()


class RLock(_MutexLock):
    """A re-entrant lock: ``multiprocessing.RLock`` that can be passed anywhere.

    The thread holding it may acquire it again; it is free once released as often.  Releasing
    it from a thread that does not hold it raises ``LockNotOwnedError``.
    """

    _kind = "RLock"

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        fields = self._fields
        me = get_ident()
        if fields[_THREAD] == me and fields[_TOKEN] == _token:
            fields[_DEPTH] += 1
            return True
        tried = trylock(self._mutex)
        if tried == 0 or self._lock_slowly(tried, block, timeout):
            fields[_PID] = _pid
            fields[_TOKEN] = _token
            fields[_THREAD] = me
            fields[_DEPTH] = 1
            return True
        return False

    __enter__ = acquire

    def release(self) -> None:
        fields = self._fields
        if fields[_THREAD] != get_ident() or fields[_TOKEN] != _token or fields[_DEPTH] <= 0:
            raise LockNotOwnedError(f"cannot release un-acquired lock {self!r}")
        depth = fields[_DEPTH] - 1
        fields[_DEPTH] = depth
        if depth == 0:
            fields[_TOKEN] = 0
            fields[_THREAD] = 0
            unlock(self._mutex)

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    # -- for Condition

    def _is_owned(self) -> bool:
        fields = self._fields
        return fields[_THREAD] == get_ident() and fields[_TOKEN] == _token and fields[_DEPTH] > 0

    def _release_save(self) -> int:
        if not self._is_owned():
            raise LockNotOwnedError(f"cannot release un-acquired lock {self!r}")
        depth = self._fields[_DEPTH]
        self._fields[_DEPTH] = 1
        self.release()
        return int(depth)

    def _acquire_restore(self, depth: int) -> None:
        self.acquire()
        self._fields[_DEPTH] = depth


def _retire(fields: memoryview, segment: Segment) -> None:
    # glibc links every robust mutex a thread holds into a list *inside the mutexes*; unmapping
    # one that this process still holds would leave that list pointing at nothing, and the
    # next lock or unlock of another robust mutex would crash.  Such a lock stays mapped until
    # the process exits (dropping a lock while holding it is a bug, but not a crash).
    if fields[_PID] == _pid:
        mutex = ctypes.c_void_p(segment.address)
        result = trylock(mutex)
        if result == errno.EOWNERDEAD:  # a thread of ours died holding it: nobody will now
            _native.make_consistent(mutex)
            result = 0
        if result == 0:
            unlock(mutex)
        else:
            _held_forever.append(segment)
    fields.release()
