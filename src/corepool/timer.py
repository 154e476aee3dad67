"""``corepool.Timer``: ``threading.Timer``'s counterpart that runs its call on a pool's worker.

    Timer(delay, fn, args, kwargs, pool=pool).start()
      └─ pool.apply_async(fn, delay=delay) ── after ``delay`` s ──▶ a worker (thread or process)
           └─ done: with ``interval=``, the next run is scheduled ``interval`` s after the
              previous one was due (no drift), until ``cancel()``

The delay is the pool's own ``delay=`` option, so waiting costs no thread: the pool's dispatcher
holds a timer.  ``cancel()`` stops a run that has not started (and every later one); a run already
running finishes, as with ``threading.Timer``.  Without ``pool=``, the timer runs on a private
one-thread pool that ends with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from corepool.errors import TaskCancelledError

if TYPE_CHECKING:
    from corepool.pool import Pool

__all__ = ["Timer"]


class Timer:
    """Run ``function(*args, **kwargs)`` on a pool's worker after ``delay`` seconds.

    With ``interval=``, run it again every ``interval`` seconds until ``cancel()`` (or until a
    run raises: the timer then stops, and ``result()`` raises that error).
    """

    def __init__(
        self,
        delay: float,
        function: Callable[..., Any],
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        interval: float | None = None,
        pool: Pool | None = None,
    ) -> None:
        if not callable(function):
            raise TypeError(f"function must be callable, not {type(function).__name__}")
        _check_seconds("delay", delay, allow_zero=True)
        if interval is not None:
            _check_seconds("interval", interval, allow_zero=False)
        self.delay = delay
        self.interval = interval
        self.function = function
        self.args = tuple(args or ())
        self.kwargs = dict(kwargs or {})
        self.finished = threading.Event()
        """Set once the timer will run no more: cancelled, or its last run ended."""
        self.runs = 0
        """How many runs have ended."""
        self._pool = pool
        self._own_pool: Pool | None = None
        self._lock = threading.Lock()
        self._started = False
        self._cancelled = False
        self._pending: Any = None
        self._due = 0.0
        self._outcome: tuple[Any, BaseException | None] | None = None

    def start(self) -> None:
        with self._lock:
            if self._started:
                raise RuntimeError("a timer can only be started once")
            self._started = True
            if self._pool is None:
                from corepool.pool import ThreadPool

                self._own_pool = self._pool = ThreadPool(1)
            self._due = time.monotonic() + self.delay
            self._schedule(self.delay)

    def cancel(self) -> None:
        """Run no more: a run that has not started never starts; one running finishes."""
        with self._lock:
            self._cancelled = True
            pending, self._pending = self._pending, None
        if pending is not None:
            self._engine_cancel(pending)

    def join(self, timeout: float | None = None) -> None:
        """Wait until the timer runs no more (after its one run, or after ``cancel()``)."""
        self.finished.wait(timeout)

    def is_alive(self) -> bool:
        return self._started and not self.finished.is_set()

    def result(self, timeout: float | None = None) -> Any:
        """The value of the last run that ended (waiting for the first), or raise its error."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._outcome is None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if self.finished.is_set() and self._outcome is None:
                raise TaskCancelledError("the timer was cancelled before it ran")
            if remaining is not None and remaining <= 0:
                raise TimeoutError("the timer has not run yet")
            self.finished.wait(0.05 if remaining is None else min(0.05, remaining))
        value, error = self._outcome
        if error is not None:
            raise error
        return value

    def __repr__(self) -> str:
        state = "finished" if self.finished.is_set() else "started" if self._started else "new"
        every = f" every {self.interval:g}s" if self.interval is not None else ""
        return f"<corepool.Timer {state} runs={self.runs}{every} {self.function!r}>"

    # -- the pool's side

    def _schedule(self, delay: float) -> None:
        """Under ``_lock``: hand the next run to the pool."""
        assert self._pool is not None
        self._pending = self._pool.apply_async(
            self.function,
            self.args,
            self.kwargs,
            callback=self._ran,
            error_callback=self._failed,
            delay=delay,
        )

    def _ran(self, value: Any) -> None:
        """On the pool's results thread."""
        with self._lock:
            self.runs += 1
            self._outcome = (value, None)
            if self.interval is None or self._cancelled:
                self._finish()
                return
            self._due += self.interval
            try:
                self._schedule(max(0.0, self._due - time.monotonic()))
            except Exception as error:  # noqa: BLE001 - the pool was closed meanwhile
                self._outcome = (None, error)
                self._finish()

    def _failed(self, error: BaseException) -> None:
        with self._lock:
            if not isinstance(error, TaskCancelledError):
                self.runs += 1
                self._outcome = (None, error)
            self._finish()

    def _finish(self) -> None:
        self._pending = None
        self.finished.set()
        own, self._own_pool = self._own_pool, None
        if own is not None:
            own.close()  # its thread ends once this callback returns

    def _engine_cancel(self, pending: Any) -> None:
        pool = self._pool
        engine = getattr(pool, "_engine", None)
        job = getattr(pending, "_job", None)
        if engine is not None and job is not None:
            engine.cancel(job)  # pending and delayed tasks only: a running one finishes


def _check_seconds(name: str, value: object, *, allow_zero: bool) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} seconds, got {value!r}")
