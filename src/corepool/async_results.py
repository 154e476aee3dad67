"""The result objects of ``Pool``: ``AsyncResult``, ``MapResult`` and the ``imap`` iterators.

They behave like ``multiprocessing.pool``'s: ``get(timeout)`` raises
``multiprocessing.TimeoutError`` when the wait runs out, ``successful()`` raises ``ValueError``
before the result is ready, and callbacks run in the parent on the pool's results thread before
``get()`` returns.
"""

from __future__ import annotations

import multiprocessing
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from corepool import _log
from corepool._engine.sinks import WaitTimedOut

if TYPE_CHECKING:
    from corepool._engine.engine import Engine
    from corepool._engine.sinks import StreamSink
    from corepool._engine.tasks import Job

T = TypeVar("T")

__all__ = ["AsyncResult", "IMapIterator", "MapResult"]


class AsyncResult(Generic[T]):
    """The eventual result of ``apply_async``, ``map_async`` and ``starmap_async``."""

    def __init__(
        self,
        callback: Callable[[T], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> None:
        self._event = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._callback = callback
        self._error_callback = error_callback
        self._job: Job | None = None

    def ready(self) -> bool:
        return self._event.is_set()

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._error is None

    def wait(self, timeout: float | None = None) -> None:
        self._event.wait(timeout)

    def get(self, timeout: float | None = None) -> T:
        if not self._event.wait(timeout):
            raise multiprocessing.TimeoutError
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        state = "pending" if not self.ready() else "failed" if self._error else "done"
        return f"<{type(self).__name__} {state}>"

    # -- resolved on the results thread (without callbacks, maybe on the loop thread: sinks.py)

    def _resolve_value(self, value: T) -> None:
        self._value = value
        if self._callback is not None:
            _run_callback(self._callback, value)
        self._event.set()

    def _resolve_error(self, error: BaseException) -> None:
        self._error = error
        if self._error_callback is not None:
            _run_callback(self._error_callback, error)
        self._event.set()


class MapResult(AsyncResult[list[T]]):
    """The eventual list of ``map_async`` / ``starmap_async``."""


def _run_callback(callback: Callable[[Any], object], argument: Any) -> None:
    try:
        callback(argument)
    except Exception:  # noqa: BLE001 - logged; the pool carries on
        _log.logger().exception("corepool: callback %r raised; the pool carries on", callback)


class IMapIterator(Iterator[T]):
    """Results of ``imap`` (in input order) or ``imap_unordered`` (as they finish).

    Abandoning the iterator before the end (``break``, or dropping it) stops the call: no more
    input is read and pending tasks are dropped, so an endless input does not run on forever.
    """

    def __init__(self, engine: Engine, job: Job, sink: StreamSink) -> None:
        self._sink = sink
        self._job = job
        self._finalizer = weakref.finalize(self, engine.cancel, job)

    def __iter__(self) -> Iterator[T]:
        # A for-loop takes results a chunk at a time (see StreamSink.iter_values); next() still
        # works before, after or instead of it.
        return self._iterate()

    def _iterate(self) -> Iterator[T]:
        try:
            yield from self._sink.iter_values()
        except StopIteration:  # pragma: no cover - iter_values returns instead
            return
        self._finalizer.detach()

    def next(self, timeout: float | None = None) -> T:
        """The next result, waiting at most ``timeout`` seconds.

        Raises ``multiprocessing.TimeoutError`` when the wait runs out (the task keeps running).
        """
        try:
            value, error = self._sink.next_outcome(timeout)
        except StopIteration:
            self._finalizer.detach()
            raise
        except WaitTimedOut:
            raise multiprocessing.TimeoutError from None
        if error is not None:
            raise error
        return value  # type: ignore[no-any-return]

    def __next__(self) -> T:
        return self.next()

    def close(self) -> None:
        """Stop the call now (what abandoning the iterator does when it is collected)."""
        self._finalizer()
