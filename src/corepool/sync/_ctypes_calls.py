"""The C calls under corepool's synchronisation primitives, through ``ctypes`` (the fallback).

``_native`` uses this module when the C extension ``_robust`` is not built (no compiler at
install time) or ``COREPOOL_SYNC_NATIVE=ctypes`` asks for it.  Every function has the name,
arguments and results of its twin in ``_robust_module.c`` / ``_robust_waiting.c``; a mutex is
passed as a ``ctypes.c_void_p`` (see ``mutex_handle``).

Calls that never block go through ``PyDLL`` (they keep the GIL: ~130 ns instead of ~300 ns);
calls that may block go through ``CDLL``, which releases the GIL while they wait.  Blocking waits
are cut into slices so that Ctrl-C (a Python signal handler, which runs only between bytecodes of
the main thread) is seen within ``INTERRUPT_SLICE`` seconds.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import threading
import time

__all__ = [
    "consistent",
    "futex_wait",
    "futex_wake",
    "init",
    "lock",
    "mutex_handle",
    "trylock",
    "unlock",
]

INTERRUPT_SLICE = 0.05
"""Longest uninterrupted wait in the main thread: the Ctrl-C latency of a blocked acquire."""

_OTHER_THREAD_SLICE = 1.0
"""Other threads never see signals; they still wake now and then (a cheap safety net)."""

_PTHREAD_MUTEX_ERRORCHECK = 2  # relocking by the holder returns EDEADLK instead of hanging
_PTHREAD_PROCESS_SHARED = 1
_PTHREAD_MUTEX_ROBUST = 1
_CLOCK_MONOTONIC = time.CLOCK_MONOTONIC
_FUTEX_WAIT = 0  # not FUTEX_PRIVATE: the word is shared between processes
_FUTEX_WAKE = 1
_SYS_FUTEX = {
    "x86_64": 202,
    "aarch64": 98,
    "arm64": 98,
    "riscv64": 98,
    "ppc64le": 221,
    "s390x": 238,
    "i686": 240,
    "i386": 240,
    "armv7l": 240,
}.get(platform.machine())


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_blocking = ctypes.CDLL(None, use_errno=True)
_quick = ctypes.PyDLL(None)

mutex_handle = ctypes.c_void_p
"""What the functions below take for a mutex: ``mutex_handle(address)``."""

trylock = _quick.pthread_mutex_trylock
trylock.argtypes = (ctypes.c_void_p,)
trylock.restype = ctypes.c_int
unlock = _quick.pthread_mutex_unlock
unlock.argtypes = (ctypes.c_void_p,)
unlock.restype = ctypes.c_int
consistent = _quick.pthread_mutex_consistent
consistent.argtypes = (ctypes.c_void_p,)
consistent.restype = ctypes.c_int

_clocklock = getattr(_blocking, "pthread_mutex_clocklock", None)  # glibc >= 2.30
if _clocklock is not None:
    _clocklock.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Timespec))
    _clocklock.restype = ctypes.c_int
_timedlock = _blocking.pthread_mutex_timedlock
_timedlock.argtypes = (ctypes.c_void_p, ctypes.POINTER(_Timespec))
_timedlock.restype = ctypes.c_int

_futex_sleep = _blocking.syscall
_futex_sleep.restype = ctypes.c_long
_futex_poke = _quick.syscall
_futex_poke.restype = ctypes.c_long


def init(address: int) -> None:
    """Make a robust, process-shared, error-checking mutex at ``address`` (zeroed memory)."""
    attr = ctypes.create_string_buffer(64)  # pthread_mutexattr_t is 4-8 bytes; be generous
    calls = (
        (_blocking.pthread_mutexattr_init, (attr,)),
        (_blocking.pthread_mutexattr_settype, (attr, _PTHREAD_MUTEX_ERRORCHECK)),
        (_blocking.pthread_mutexattr_setpshared, (attr, _PTHREAD_PROCESS_SHARED)),
        (_blocking.pthread_mutexattr_setrobust, (attr, _PTHREAD_MUTEX_ROBUST)),
        (_blocking.pthread_mutex_init, (ctypes.c_void_p(address), attr)),
    )
    for function, args in calls:
        result = function(*args)
        if result:
            raise OSError(result, f"{function.__name__}: {errno.errorcode.get(result, result)}")
    _blocking.pthread_mutexattr_destroy(attr)


def _slice() -> float:
    if threading.current_thread() is threading.main_thread():
        return INTERRUPT_SLICE
    return _OTHER_THREAD_SLICE


def _abstime(seconds: float, clock: int) -> _Timespec:
    when = time.clock_gettime(clock) + seconds
    whole = int(when)
    return _Timespec(whole, int((when - whole) * 1e9))


def lock(mutex: ctypes.c_void_p, deadline: float | None) -> int:
    """Lock, waiting until ``deadline`` (``time.monotonic()``; ``None``: forever).

    Returns 0, ``EOWNERDEAD`` (locked; the previous holder died), ``ETIMEDOUT`` or
    ``EDEADLK`` (this thread holds it already).  Signal handlers run between slices.
    """
    while True:
        result = int(trylock(mutex))
        if result != errno.EBUSY:
            return result
        wait = _slice()
        if deadline is not None:
            left = deadline - time.monotonic()
            if not left > 0:  # NaN too
                return errno.ETIMEDOUT
            wait = min(wait, left)
        if _clocklock is not None:
            result = int(_clocklock(mutex, _CLOCK_MONOTONIC, _abstime(wait, _CLOCK_MONOTONIC)))
        else:  # older glibc: the wall clock; slices bound what a clock jump can do
            result = int(_timedlock(mutex, _abstime(wait, time.CLOCK_REALTIME)))
        if result != errno.ETIMEDOUT:
            return result


def futex_wait(address: int, expected: int, timeout: float | None) -> None:
    """Sleep while the 32-bit word at ``address`` equals ``expected``, at most ``timeout`` s
    (and at most one slice: callers loop and re-check their condition)."""
    if _SYS_FUTEX is None:  # pragma: no cover - unknown architecture
        time.sleep(min(timeout or 0.001, 0.001))
        return
    wait = _slice() if timeout is None else max(0.0, min(timeout, _slice()))
    whole = int(wait)
    span = _Timespec(whole, int((wait - whole) * 1e9))
    _futex_sleep(
        ctypes.c_long(_SYS_FUTEX),
        ctypes.c_void_p(address),
        ctypes.c_int(_FUTEX_WAIT),
        ctypes.c_uint(expected & 0xFFFFFFFF),
        ctypes.byref(span),
        ctypes.c_void_p(0),
        ctypes.c_int(0),
    )


def futex_wake(address: int, count: int) -> None:
    """Wake up to ``count`` sleepers of the word at ``address``."""
    if _SYS_FUTEX is None:  # pragma: no cover - unknown architecture
        return
    _futex_poke(
        ctypes.c_long(_SYS_FUTEX),
        ctypes.c_void_p(address),
        ctypes.c_int(_FUTEX_WAKE),
        ctypes.c_int(min(count, 0x7FFFFFFF)),
        ctypes.c_void_p(0),
        ctypes.c_void_p(0),
        ctypes.c_int(0),
    )
