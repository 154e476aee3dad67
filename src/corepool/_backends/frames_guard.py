"""Keeps ``sys._current_frames()`` from running while a subinterpreter runs code.

CPython's ``sys._current_frames()`` (and ``sys._current_exceptions()``) walks the threads of
*every* interpreter in the process and builds a frame object for each one's running frame, in
the caller's interpreter and with the caller's allocator.  Called while a subinterpreter is
running code, it corrupts memory: the process then aborts ("double free or corruption", or
"Fatal Python error: Aborted" in the middle of an import) soon after.  Sampling profilers call it
many times a second; Dask's, for one, runs in every process that holds a scheduler (seen with
``backend="interpreters"`` on 3.13.0: a thread calling it every millisecond beside a pool of two
subinterpreters aborted the process in two runs out of two; ``tests/interpreters``).

Nothing in corepool calls these functions, but a pool's subinterpreters must survive the other
code of the program.  So while a pool of subinterpreters exists, the two functions are replaced
by versions that wait until no subinterpreter is running code (each host thread holds the gate
around every call into its interpreter, and lets it go between chunks).  A waiting caller goes
first: the host threads stop at their next chunk boundary.  Should a subinterpreter run one
chunk for longer than ``WAIT_SECONDS``, the caller gets ``RuntimeError`` instead of a crash.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

WAIT_SECONDS = 5.0
_GUARDED = ("_current_frames", "_current_exceptions")


class _Gate:
    """Many subinterpreters may run at once; a frames call waits for none to run (and goes
    before host threads that arrive after it)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._running = 0
        self._callers_waiting = 0
        self._calling = False

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Held by a host thread while its subinterpreter runs code."""
        with self._condition:
            self._condition.wait_for(lambda: not self._calling and not self._callers_waiting)
            self._running += 1
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def quiet(self, what: str, timeout: float) -> Iterator[None]:
        """Held by a frames call: no subinterpreter runs code meanwhile."""
        with self._condition:
            self._callers_waiting += 1
            try:
                ready = self._condition.wait_for(
                    lambda: not self._running and not self._calling, timeout
                )
            finally:
                self._callers_waiting -= 1
                self._condition.notify_all()
            if not ready:
                raise RuntimeError(
                    f"sys.{what}() was not called: a subinterpreter of a corepool pool has run "
                    f"code for over {timeout:g} s, and calling it meanwhile would corrupt the "
                    "process's memory (a CPython bug: it builds frames of every interpreter)"
                )
            self._calling = True
        try:
            yield
        finally:
            with self._condition:
                self._calling = False
                self._condition.notify_all()


GATE = _Gate()
_install_lock = threading.Lock()


def install() -> None:
    """Replace ``sys._current_frames`` and ``sys._current_exceptions`` with guarded versions
    (once per process; a later pool finds them guarded already)."""
    with _install_lock:
        for name in _GUARDED:
            original = getattr(sys, name, None)
            if original is not None and not getattr(original, "__corepool_guarded__", False):
                setattr(sys, name, _guarded(original, name))


def _guarded(original: Callable[[], Any], name: str) -> Callable[[], Any]:
    @functools.wraps(original)
    def call() -> Any:
        with GATE.quiet(name, WAIT_SECONDS):
            return original()

    call.__corepool_guarded__ = True  # type: ignore[attr-defined]
    return call
