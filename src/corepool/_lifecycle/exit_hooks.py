"""What happens to pools still running when the interpreter exits.

As in the standard library: a ``Pool`` is terminated, an executor finishes its work first.  The
hook runs from ``threading``'s exit hooks, before ``multiprocessing`` joins child processes (which
would otherwise wait forever for workers nobody told to stop).
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Literal, Protocol

ExitMode = Literal["terminate", "finish"]


class Engine(Protocol):
    """What this module needs of an engine (``_engine.engine.Engine``), which sits above it."""

    def terminate(self) -> None: ...
    def close(self) -> None: ...
    def join(self, timeout: float | None = None) -> bool: ...


_engines: weakref.WeakKeyDictionary[Engine, ExitMode] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_registered = False


def end_at_exit(engine: Engine, mode: ExitMode) -> None:
    global _registered
    with _lock:
        _engines[engine] = mode
        if not _registered:
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                register(_end_all)
            else:  # pragma: no cover - Python < 3.9
                import atexit

                atexit.register(_end_all)
            _registered = True


def _forget_inherited_engines() -> None:
    # A forked child inherits the parent's engines but none of their threads or workers: joining
    # them at the child's exit would wait forever.  They are the parent's to end.
    _engines.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_engines)


def _end_all() -> None:
    with _lock:
        engines = list(_engines.items())
    for engine, mode in engines:
        if mode == "terminate":
            engine.terminate()
        else:
            engine.close()
    for engine, _ in engines:
        engine.join()
