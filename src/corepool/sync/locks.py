"""``Lock`` and ``RLock``: multiprocessing's locks, passable anywhere, surviving a dead holder.

Each lock is one robust, process-shared pthread mutex in its own small segment:

    segment  [ pthread_mutex_t (64 B) | holder pid | holder token | holder thread | depth | policy ]

* uncontended ``acquire`` is one ``pthread_mutex_trylock`` and one store (the holder's pid, so
  that a waiter can name a dead holder); ``release`` is one ``pthread_mutex_unlock``; with the
  C extension built, each is a single C call (``_lock_cores``: the fast paths, C or ctypes);
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

import errno
import sys
import threading
import time
from collections.abc import Callable
from typing import Literal

from corepool.errors import HolderDiedError, LockNotOwnedError
from corepool.shared.memory import Segment
from corepool.sync import _native, _process
from corepool.sync._lock_cores import DEPTH, PID, POLICY, THREAD, TOKEN, LockCore, RLockCore
from corepool.sync._native import MUTEX_BYTES, trylock, unlock
from corepool.sync._shared import SharedObject

__all__ = ["Lock", "RLock"]

HolderPolicy = Literal["raise", "recover"]
_POLICIES: dict[str, int] = {"raise": 0, "recover": 1}

_SEGMENT_BYTES = MUTEX_BYTES + 8 * 8  # _lock_cores.FIELDS int64 fields, room for three more
_held_forever: list[Segment] = []  # see _retire


def deadline_of(block: bool, timeout: float | None) -> float | None:
    """``multiprocessing``'s rules: no blocking means no wait; a negative timeout means 0."""
    if not block:
        return time.monotonic()
    if timeout is None:
        return None
    return time.monotonic() + max(0.0, float(timeout))


class _MutexLock(SharedObject):
    """What ``Lock`` and ``RLock`` share: the segment, the mutex, dead-holder handling.

    The fast paths (``acquire``, ``release``, ``with``) come from the core base class
    (``_lock_cores``); they call ``_lock_failed`` and ``_refuse_release`` below when rare."""

    _kind = "Lock"
    _mutex: object
    _fields: memoryview
    _attach: Callable[[memoryview], None]  # from the core: LockCore or RLockCore

    def __init__(self, *, on_holder_death: HolderPolicy = "raise") -> None:
        if on_holder_death not in _POLICIES:
            raise ValueError(
                f"on_holder_death must be 'raise' or 'recover', not {on_holder_death!r}"
            )
        segment = Segment.create(_SEGMENT_BYTES)
        _native.init_mutex(segment.address)
        segment.buf[MUTEX_BYTES:].cast("q")[POLICY] = _POLICIES[on_holder_death]
        self._register(segment)

    def _bind(self, segment: Segment) -> None:
        super()._bind(segment)
        self._mutex = _native.mutex_handle(segment.address)
        self._fields = segment.buf[MUTEX_BYTES:_SEGMENT_BYTES].cast("q")
        self._attach(segment.buf[:_SEGMENT_BYTES])
        self._on_collect(_retire, self._fields, segment)

    def _lock_failed(self, code: int, block: bool, timeout: float | None) -> bool:
        """The mutex answered ``code`` (not 0, busy or timed out); True: now locked.

        The caller records itself as the holder."""
        if code == errno.EOWNERDEAD:
            return self._recover()
        if code == errno.EDEADLK:
            return self._wait_for_self(block, timeout)
        raise OSError(code, f"pthread_mutex_lock: {errno.errorcode.get(code, code)}")

    def _recover(self) -> bool:
        """This thread just locked a mutex whose holder died: repair it, then apply the policy."""
        dead = self._fields[PID]
        _native.make_consistent(self._mutex)
        self._fields[DEPTH] = 0
        self._fields[TOKEN] = 0
        self._fields[THREAD] = 0
        if self._fields[POLICY] == _POLICIES["recover"]:
            return True
        unlock(self._mutex)
        if dead == _process.PID:
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


class Lock(_MutexLock, LockCore):
    """A lock shared by processes and threads: ``multiprocessing.Lock`` that can be passed anywhere.

    ``acquire(block=True, timeout=None)`` returns ``True`` once held, ``False`` when
    ``block=False`` or the timeout ran out; threading's spelling ``acquire(blocking=True,
    timeout=-1)`` works too, with threading's rules (``_acquire_arguments``).  ``locked()``
    says whether anyone holds it.  Use it as a context manager.  See the module
    docstring for what happens when a holder dies.  (``acquire``, ``release`` and ``with``
    come from ``LockCore``: C when the extension is built.)
    """

    def _refuse_release(self) -> Exception:
        return self._not_owned()

    def locked(self) -> bool:
        """Whether some thread or process holds the lock (``threading.Lock.locked``).  Like
        ``acquire``, it raises ``HolderDiedError`` if it finds the holder dead."""
        return self._probe() != "free"

    # -- for Condition

    def _is_owned(self) -> bool:
        return self._probe() == "mine"

    def _release_save(self) -> int:
        self.release()
        return 1

    def _acquire_restore(self, depth: int) -> None:
        self.acquire()


class RLock(_MutexLock, RLockCore):
    """A re-entrant lock: ``multiprocessing.RLock`` that can be passed anywhere.

    The thread holding it may acquire it again; it is free once released as often.  Releasing
    it from a thread that does not hold it raises ``LockNotOwnedError``.
    """

    _kind = "RLock"

    def _refuse_release(self) -> Exception:
        return LockNotOwnedError(f"cannot release un-acquired lock {self!r}")

    if sys.version_info >= (3, 14):  # threading.RLock.locked is new in 3.14

        def locked(self) -> bool:
            """Whether some thread or process holds the lock (``threading.RLock.locked``)."""
            return self._probe() != "free"

    # -- for Condition

    def _is_owned(self) -> bool:
        fields = self._fields
        return (
            fields[THREAD] == threading.get_ident()
            and fields[TOKEN] == _process.TOKEN
            and fields[DEPTH] > 0
        )

    def _release_save(self) -> int:
        if not self._is_owned():
            raise self._refuse_release()
        depth = self._fields[DEPTH]
        self._fields[DEPTH] = 1
        self.release()
        return int(depth)

    def _acquire_restore(self, depth: int) -> None:
        self.acquire()
        self._fields[DEPTH] = depth


def _retire(fields: memoryview, segment: Segment) -> None:
    # glibc links every robust mutex a thread holds into a list *inside the mutexes*; unmapping
    # one that this process still holds would leave that list pointing at nothing, and the
    # next lock or unlock of another robust mutex would crash.  Such a lock stays mapped until
    # the process exits (dropping a lock while holding it is a bug, but not a crash).
    if fields[PID] == _process.PID:
        mutex = _native.mutex_handle(segment.address)
        result = trylock(mutex)
        if result == errno.EOWNERDEAD:  # a thread of ours died holding it: nobody will now
            _native.make_consistent(mutex)
            result = 0
        if result == 0:
            unlock(mutex)
        else:
            _held_forever.append(segment)
    fields.release()
