"""What corepool's three executors share: futures, ``map``, cancel and shutdown, on one engine.

``submit``/``schedule`` hand a task to the engine with a ``SingleSink`` that settles a real
``concurrent.futures.Future``; ``map`` streams through a ``StreamSink`` with a bounded window.
The executors themselves (``executor.py``) only choose a backend and open the engine.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from corepool._calls import CallDefaults
from corepool._engine.engine import Engine
from corepool._engine.requests import MapRequest, TaskRequest
from corepool._engine.sinks import SingleSink, StreamSink, WaitTimedOut
from corepool._engine.tasks import Job
from corepool._lifecycle.exit_hooks import end_at_exit
from corepool._wire.messages import CallStyle
from corepool.errors import PoolClosedError

if TYPE_CHECKING:  # loaded when asked for: ~5-10 ms of every program's first pool otherwise
    from corepool.insights.progress import ProgressOption
    from corepool.insights.report import PoolInsights
    from corepool.insights.statistics import PoolStatistics

R = TypeVar("R")


class EngineExecutor(concurrent.futures.Executor):
    _engine: Engine
    _max_workers: int

    def _start(self, engine: Engine, defaults: CallDefaults) -> None:
        self._engine = engine
        self._defaults = defaults
        self._futures: dict[concurrent.futures.Future[Any], Job | None] = {}
        self._streams: set[Job] = set()
        self._lock = threading.Lock()
        end_at_exit(engine, "finish")

    def submit(
        self, fn: Callable[..., R], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[R]:
        """Run ``fn(*args, **kwargs)`` on a worker; returns a ``concurrent.futures.Future``."""
        return self.schedule(fn, args, kwargs)

    def schedule(
        self,
        fn: Callable[..., R],
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        priority: int = 0,
        delay: float = 0.0,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> concurrent.futures.Future[R]:
        """``submit`` with per-task options: higher ``priority`` first, start after ``delay``
        seconds, fail with ``TaskTimeoutError`` after ``timeout`` seconds of running, run again up
        to ``retries`` times if the worker dies."""
        options = self._defaults.options(priority, delay, timeout, retries)
        request = TaskRequest.of("submit", fn, args, kwargs, options)
        future: concurrent.futures.Future[R] = concurrent.futures.Future()
        sink = SingleSink(
            _unless_cancelled(future, future.set_result),
            _unless_cancelled(future, future.set_exception),
            future.set_running_or_notify_cancel,
        )
        self._refuse_if_broken()
        with self._lock:
            self._futures[future] = None
        try:
            job = self._engine.submit_task(request, sink)
        except PoolClosedError:
            self._forget(future)
            raise RuntimeError("cannot schedule new futures after shutdown") from None
        with self._lock:
            if future in self._futures:
                self._futures[future] = job
        future.add_done_callback(self._forget)
        return future

    def _refuse_if_broken(self) -> None:
        # As the standard executors: once broken (an initializer failed, workers or threads
        # cannot start), submit and map raise; the error is a BrokenProcessPool/BrokenThreadPool.
        broken = self._engine.broken
        if broken is not None:
            raise broken

    @property
    def _broken(self) -> str | bool:
        """The standard executors' ``_broken``, for programs (and CPython's tests) that read it:
        False, or why the executor cannot run tasks."""
        broken = self._engine.broken
        return False if broken is None else str(broken)

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            job = self._futures.pop(future, None)
        if job is not None and future.cancelled():
            # Cancelled while pending (``future.cancel()``): drop its chunk now rather than when
            # it would have started, so that a delayed task does not keep shutdown() waiting.
            self._engine.cancel(job)

    def cancel(self, future: concurrent.futures.Future[Any]) -> bool:
        """Cancel ``future`` even if it is running: its worker is stopped and replaced.

        A pending future is cancelled as by ``future.cancel()``.  A running one fails with
        ``TaskCancelledError`` (a ``concurrent.futures.CancelledError``), since the standard
        ``Future`` cannot move from running to cancelled.  Returns False if it already finished.
        """
        if future.cancel():
            return True
        with self._lock:
            job = self._futures.get(future)
        if job is None or future.done():
            return False
        self._engine.cancel(job, stop_running=True)
        return True

    def map(
        self,
        fn: Callable[..., R],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int | None = None,
        buffersize: int | None = None,
        progress: ProgressOption = None,
    ) -> Iterator[R]:
        """Like ``map(fn, *iterables)``, in parallel; results in order, errors raised in place.

        The input is read lazily, at most ``buffersize`` chunks ahead of the consumer (by default
        a few chunks per worker): a chunk is what travels to a worker as one message,
        ``chunksize`` items, or without it as many as corepool's automatic sizing puts in one
        (~10 ms of work, at most ``Settings.max_chunk_items``; a ``buffersize`` wider than the
        default window makes them smaller, so that it never holds more items than four default
        ones).  That is Python 3.14's meaning of ``buffersize`` for ``ProcessPoolExecutor`` with
        a chunksize; for at most ``buffersize`` items, as 3.14 does without one, pass
        ``chunksize=1`` too.
        ``timeout`` counts from this call, as in the standard library.  Leaving the iterator
        before its end (``break``, ``close()``) cancels the work not started and stops reading.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        _check_buffersize(buffersize)
        source: Iterable[Any] = (
            iterables[0] if len(iterables) == 1 else zip(*iterables, strict=False)
        )
        style = CallStyle.ONE if len(iterables) == 1 else CallStyle.STAR
        request = MapRequest(
            "map",
            fn,
            source,
            style,
            self._defaults.options(),
            chunksize,
            buffersize,
            fn_name="fn",
            progress=progress,
        )
        sink = StreamSink(ordered=True)
        self._refuse_if_broken()
        try:
            job = self._engine.submit_map(request, sink)
        except PoolClosedError:
            raise RuntimeError("cannot schedule new futures after shutdown") from None
        with self._lock:
            self._streams.add(job)
        # With ``buffersize`` the input is read as results are taken (as in 3.14), so the
        # iterator starts at once: closing or dropping it before a first next() cancels.  Without,
        # the standard submits every item at the call, and a map whose iterator is never started
        # still runs them all (CPython's test_map_submits_without_iteration, bpo-11777).
        started = buffersize is not None
        results = self._results(job, sink, deadline, started)
        if started:
            next(results)
        return results

    def _results(
        self, job: Job, sink: StreamSink, deadline: float | None, started: bool
    ) -> Iterator[Any]:
        next_outcome = sink.next_outcome
        try:
            if started:
                yield None  # map() stops here at once: see there
            if deadline is None:
                yield from sink.iter_values()
                return
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    value, error = next_outcome(remaining)
                except StopIteration:
                    return
                except WaitTimedOut:
                    raise concurrent.futures.TimeoutError from None
                if error is not None:
                    raise error
                yield value
        finally:
            with self._lock:
                self._streams.discard(job)
            self._engine.cancel(job)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; with ``cancel_futures``, cancel what has not started (except the
        tasks next in line for an idle or starting worker, as the standard library does)."""
        if cancel_futures:
            with self._lock:
                futures, streams = dict(self._futures), list(self._streams)
            for future in _not_next_in_line(futures, self._max_workers):
                future.cancel()
            for job in streams:
                self._engine.cancel(job)
        self._engine.close()
        if wait:
            self._engine.join()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            # Ctrl-C or SystemExit: do not wait for the queue to drain; stop now.
            self.shutdown(wait=False, cancel_futures=True)
            self._engine.terminate()
            self._engine.join()
            return
        self.shutdown(wait=True)

    def insights(self) -> PoolInsights:
        """Where each worker's time went, the slowest tasks and suggestions (``Pool.insights``)."""
        return self._engine.insights()

    def statistics(self) -> PoolStatistics:
        """A snapshot of the workers (pid or thread, idle or busy, tasks done) and the queue."""
        return self._engine.statistics()


def _unless_cancelled(
    future: concurrent.futures.Future[Any], settle: Callable[[Any], None]
) -> Callable[[Any], None]:
    """``settle`` (``set_result`` / ``set_exception``), which a future cancelled while pending
    ignores: its task is dropped, and the error that says so has nobody left to tell."""

    def settle_unless_cancelled(outcome: Any) -> None:
        try:
            settle(outcome)
        except concurrent.futures.InvalidStateError:
            if not future.cancelled():
                raise

    return settle_unless_cancelled


def _not_next_in_line(
    futures: dict[concurrent.futures.Future[Any], Job | None], workers: int
) -> list[concurrent.futures.Future[Any]]:
    """What ``shutdown(cancel_futures=True)`` cancels: the pending futures, except the first
    ones (in submission order, not delayed) that a worker not yet running a task takes next.

    The standard executor has already moved those to its call queue (``max_workers + 1`` deep)
    and marked them running, even while its workers are still starting; so a shutdown right
    after the submits still runs a few, and programs (CPython's ``test_cancel_futures``) rely
    on it.  corepool hands a task over only to a ready worker, so it keeps them here instead.
    """
    running = sum(future.running() for future in futures)
    pending = [future for future in futures if not future.running() and not future.done()]
    in_line = [
        future
        for future in pending
        if (job := futures[future]) is not None and job.options.delay <= 0
    ][: max(0, workers - running)]
    return [future for future in pending if future not in in_line]


def _check_buffersize(buffersize: int | None) -> None:
    if buffersize is None:
        return
    if not isinstance(buffersize, int) or isinstance(buffersize, bool):
        raise TypeError("buffersize must be an integer or None")
    if buffersize < 1:
        raise ValueError("buffersize must be None or > 0")
