"""SIGTERM while pools run: end the program cleanly instead of dying mid-flight.

Python's default for SIGTERM kills the process at once: no ``finally``, no exit hooks, so workers
would only notice through their lifeline and shared memory would not be released.  While at least
one corepool pool is running, and only if SIGTERM still has its default action, corepool turns it
into ``SystemExit(143)`` (128 + SIGTERM, what a shell reports for it), so the interpreter unwinds
and the exit hooks terminate every pool.  The previous handler is restored when the last pool
ends.  Handlers can only be installed from the main thread; elsewhere nothing is changed.

SIGINT needs nothing: Python already raises ``KeyboardInterrupt`` in the main thread, every wait
in corepool can be interrupted, and workers ignore SIGINT (a terminal sends it to the whole
process group), so Ctrl-C prints one traceback, not one per worker.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

_lock = threading.Lock()
_users = 0
_previous: Any = None
_installed = False


_installer_pid = 0


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if os.getpid() != _installer_pid:
        # A forked child inherited the handler (possibly before its at-fork reset ran): die by
        # the signal, as a child without corepool would.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise SystemExit(128 + signum)


def pool_started() -> None:
    global _users, _previous, _installed, _installer_pid
    with _lock:
        _users += 1
        if _users > 1 or threading.current_thread() is not threading.main_thread():
            return
        current = signal.getsignal(signal.SIGTERM)
        if current is signal.SIG_DFL:
            _previous = current
            _installer_pid = os.getpid()
            signal.signal(signal.SIGTERM, _on_sigterm)
            _installed = True


def pool_ended() -> None:
    """A pool finished (from any thread); the handler is restored by ``restore_if_unused``."""
    global _users
    with _lock:
        _users = max(0, _users - 1)
    restore_if_unused()


def restore_if_unused() -> None:
    """Put the previous SIGTERM handler back if no pool runs (only the main thread can)."""
    global _installed
    with _lock:
        if _users or not _installed or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, _previous)
        _installed = False


# Around a fork.  Python runs a signal handler later, in the main thread; a SIGTERM that reaches a
# freshly forked child before it has reset its handlers would trip a flag that the child then
# clears, and be lost (the child survives multiprocessing's terminate()).  So while corepool's
# handler is installed, SIGTERM is blocked across fork(): a signal that arrives meanwhile stays
# pending in the kernel, and the child unblocks it only after its handler is back to the default.
_blocked_for_fork = threading.local()


def _before_fork() -> None:
    if _installed:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        _blocked_for_fork.active = True


def _after_fork_in_parent() -> None:
    if getattr(_blocked_for_fork, "active", False):
        _blocked_for_fork.active = False
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _after_fork_in_child() -> None:
    # The child is not running the parent's pools: SIGTERM gets its previous meaning back.
    global _users, _installed
    _users = 0
    if _installed and signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, _previous)
    _installed = False
    if getattr(_blocked_for_fork, "active", False):
        _blocked_for_fork.active = False
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def sigterm_handler_installed() -> bool:
    return signal.getsignal(signal.SIGTERM) is _on_sigterm
