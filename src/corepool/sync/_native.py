"""The kernel calls under every corepool synchronisation primitive, from C or through ctypes.

    locks.py ─ Lock/RLock bases: LockCore, RLockCore ───┐
    _monitor.py, condition.py ─ trylock, unlock, lock, ├─▶ _robust (C extension, if built)
      futex_wait, futex_wake ... on mutex_handle(addr) ─┘   or _ctypes_calls (the fallback)

Two kernel facilities, both usable on memory shared between processes:

* **robust process-shared pthread mutexes**: the kernel tracks which thread holds each one;
  when a holder dies, the next locker gets ``EOWNERDEAD`` instead of waiting forever;
* **futexes**: "sleep while this 32-bit word still equals X" / "wake N sleepers of this word".
  The kernel keeps no state for a futex besides its sleepers, so a sleeper that is killed simply
  disappears; nothing can be left inconsistent (unlike a pthread condition variable, whose
  internal counters a killed waiter corrupts).

The calls come from the C extension ``_robust`` when it was built (``pip install`` compiles it
when a C compiler is there), else from ``_ctypes_calls``: same functions, same results, same
waits in slices so that Ctrl-C reaches a blocked main thread.  The difference is speed: a
non-blocking call costs ~0.03 µs from C against ~0.13 µs through ctypes, and ``Lock.acquire``
is one C call instead of a Python method around two (benchmarks/results/sync.md).

``COREPOOL_SYNC_NATIVE`` (read once, at import) chooses: ``auto`` (default: C if built),
``ctypes`` (the fallback, e.g. to test it), ``c`` (the extension, or ``ImportError``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from corepool.sync import _ctypes_calls, _process

__all__ = [
    "BACKEND",
    "FUTEX_OFFSET",
    "MUTEX_BYTES",
    "futex_wait",
    "futex_wake",
    "init_mutex",
    "lock_mutex",
    "make_consistent",
    "mutex_handle",
    "trylock",
    "unlock",
]

MUTEX_BYTES = 64
"""Room for one ``pthread_mutex_t``: glibc needs 40 bytes on x86-64 and 48 on arm64; 64 keeps
every platform's struct and the next field on separate cache lines' halves."""

FUTEX_OFFSET = 0 if sys.byteorder == "little" else 4
"""Where the low 32 bits (the futex word) sit inside an int64 field."""

ENVIRONMENT_VARIABLE = "COREPOOL_SYNC_NATIVE"
_CHOICES = ("auto", "c", "ctypes")


EXTENSION_API = 3
"""The ``_robust.API`` this code expects; change both together when the extension changes, so
that a stale in-place build (``pip install -e .`` not re-run) is noticed instead of used."""


def _load_extension() -> ModuleType | None:
    choice = os.environ.get(ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(
            f"{ENVIRONMENT_VARIABLE}={choice!r}: expected one of {', '.join(_CHOICES)}"
        )
    if choice == "ctypes":
        return None
    try:
        from corepool.sync import _robust
    except ImportError:
        if choice == "c":
            raise
        return None
    built = (getattr(_robust, "API", None), getattr(_robust, "MUTEX_BYTES", None))
    if built != (EXTENSION_API, MUTEX_BYTES):
        if choice == "c":
            raise ImportError(
                f"corepool.sync._robust is a stale build (API, mutex bytes {built}, expected "
                f"{(EXTENSION_API, MUTEX_BYTES)}): rebuild it with pip install -e ."
            )
        return None  # the ctypes calls match this code; a test reports the stale build
    return _robust


_extension = _load_extension()

BACKEND = "c" if _extension is not None else "ctypes"
"""Where the calls come from: ``"c"`` (the ``_robust`` extension) or ``"ctypes"``."""

_calls: Any = _extension if _extension is not None else _ctypes_calls

mutex_handle: Callable[[int], Any] = int if _extension is not None else _ctypes_calls.mutex_handle
"""What the mutex functions take: ``mutex_handle(address)`` (an int for C, a c_void_p else)."""
trylock: Callable[[Any], int] = _calls.trylock
"""0, ``EBUSY``, ``EOWNERDEAD`` (locked; the holder died) or ``EDEADLK`` (this thread holds it)."""
unlock: Callable[[Any], int] = _calls.unlock
"""0, or ``EPERM`` when this thread does not hold the mutex."""
make_consistent: Callable[[Any], int] = _calls.consistent
lock_mutex: Callable[[Any, float | None], int] = _calls.lock
"""Lock, waiting until a ``time.monotonic()`` deadline (``None``: forever); see _ctypes_calls."""
init_mutex: Callable[[int], None] = _calls.init
futex_wait: Callable[[int, int, float | None], None] = _calls.futex_wait
futex_wake: Callable[[int, int], None] = _calls.futex_wake


def _tell_identity(main_thread: int | None) -> None:
    """The extension records lock holders without calling Python: tell it who this process is
    (and, in a forked child, again: new pid, new token, the forking thread is the main one)."""
    if _extension is not None:
        _extension.set_identity(_process.PID, _process.TOKEN, main_thread or 0)


_tell_identity(threading.main_thread().ident)
# Registered after _process's own hook (imported above), so PID and TOKEN are new already.
os.register_at_fork(after_in_child=lambda: _tell_identity(threading.get_ident()))
