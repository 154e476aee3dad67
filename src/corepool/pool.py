"""``Pool`` and ``ThreadPool``: the ``multiprocessing.Pool`` front door.

Code written for ``multiprocessing.Pool`` runs unchanged with ``from corepool import Pool``.  Where
the standard library is known to misbehave, corepool does better:

* ``map``/``imap`` read their input lazily through a bounded window instead of listing it first,
  so an endless generator works with ``imap`` and memory stays flat;
* without ``chunksize``, chunks are sized from measured task times instead of a fixed formula;
* a callback that raises is logged and the pool carries on (``multiprocessing`` loses its result
  thread and hangs);
* ``terminate()`` fails outstanding results with ``TaskCancelledError`` instead of leaving
  ``get()`` waiting forever;
* lambdas and closures work as functions, under every start method.
"""

from __future__ import annotations

import multiprocessing.context
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from corepool._calls import CallDefaults, NativeThreads, check_size, open_engine
from corepool._engine.engine import Engine
from corepool._engine.requests import MapRequest, TaskRequest
from corepool._engine.sinks import ListSink, SingleSink, StreamSink
from corepool._lifecycle.exit_hooks import end_at_exit
from corepool._wire.messages import CallStyle
from corepool._worker.native_threads import available_cores
from corepool.async_results import AsyncResult, IMapIterator, MapResult
from corepool.errors import PoolClosedError
from corepool.settings import Settings

if TYPE_CHECKING:  # loaded when asked for: ~5-10 ms of every program's first pool otherwise
    from corepool.insights.progress import ProgressOption
    from corepool.insights.report import PoolInsights
    from corepool.insights.statistics import PoolStatistics

__all__ = ["Pool", "ThreadPool"]

STAR = CallStyle.STAR

T = TypeVar("T")
R = TypeVar("R")


class Pool:
    """A pool of workers with the API of ``multiprocessing.Pool``.

    ``processes`` defaults to the number of cores this process may use.  Keyword-only extras:
    ``backend``: ``"processes"``, ``"threads"``, ``"auto"`` (threads first, processes for
    CPU-bound Python: docs/guide.md), ``"interpreters"`` (docs/interpreters.md), or ``"dask"``
    with ``address`` or ``client`` (a Dask cluster: docs/many-machines.md).  ``timeout`` and
    ``retries`` (defaults for every task), ``max_memory_per_worker`` (bytes, or a size like
    ``"2GB"``: a worker above it after a task is replaced), ``native_threads`` (cap for
    OpenMP/BLAS threads inside each worker process: ``"auto"`` divides the cores among the
    workers, ``None`` leaves them alone) and ``settings``.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: multiprocessing.context.BaseContext | str | None = None,
        *,
        backend: str = "processes",
        timeout: float | None = None,
        retries: int = 0,
        max_memory_per_worker: int | str | None = None,
        native_threads: NativeThreads = "auto",
        settings: Settings | None = None,
        address: str | None = None,
        client: Any = None,
    ) -> None:
        self._engine: Engine | None = None
        size = check_size(processes, available_cores(), "Number of processes")
        self._defaults = CallDefaults(timeout, retries)
        self._defaults.options()  # validates timeout and retries now, not at the first task
        self._processes = size
        self._engine = open_engine(
            backend,
            size,
            initializer=initializer,
            initargs=initargs,
            context=context,
            native_threads=native_threads,
            max_tasks=maxtasksperchild,
            max_memory=max_memory_per_worker,
            settings=settings,
            address=address,
            client=client,
            size_given=processes is not None,
        )
        self._processes = self._engine.size  # a Dask cluster's threads, when not given
        end_at_exit(self._engine, "terminate")

    # -- one task

    def apply(
        self,
        func: Callable[..., R],
        args: Iterable[Any] = (),
        kwds: Mapping[str, Any] | None = None,
        *,
        priority: int = 0,
        delay: float = 0.0,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> R:
        """Run ``func(*args, **kwds)`` on a worker and wait for its result."""
        return self.apply_async(
            func, args, kwds, priority=priority, delay=delay, timeout=timeout, retries=retries
        ).get()

    def apply_async(
        self,
        func: Callable[..., R],
        args: Iterable[Any] = (),
        kwds: Mapping[str, Any] | None = None,
        callback: Callable[[R], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        priority: int = 0,
        delay: float = 0.0,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> AsyncResult[R]:
        """Start ``func(*args, **kwds)`` on a worker; ``callback`` gets the result in the parent."""
        options = self._defaults.options(priority, delay, timeout, retries)
        request = TaskRequest.of("apply", func, args, kwds, options)
        engine = self._running_engine()
        result: AsyncResult[R] = AsyncResult(callback, error_callback)
        sink = SingleSink(
            result._resolve_value,
            result._resolve_error,
            runs_user_code=callback is not None or error_callback is not None,
        )
        result._job = engine.submit_task(request, sink)
        return result

    # -- many tasks

    def map(
        self,
        func: Callable[[T], R],
        iterable: Iterable[T],
        chunksize: int | None = None,
        *,
        priority: int = 0,
        timeout: float | None = None,
        retries: int | None = None,
        progress: ProgressOption = None,
    ) -> list[R]:
        """``[func(x) for x in iterable]``, in parallel; raises the first task error.

        ``progress=True`` shows a progress bar (tqdm); a callable gets ``(done, total)``."""
        request = self._map_request(
            "map", func, iterable, chunksize, priority, timeout, retries, progress
        )
        return self._run_list(request)

    def map_async(
        self,
        func: Callable[[T], R],
        iterable: Iterable[T],
        chunksize: int | None = None,
        callback: Callable[[list[R]], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        priority: int = 0,
        timeout: float | None = None,
        retries: int | None = None,
        progress: ProgressOption = None,
    ) -> MapResult[R]:
        request = self._map_request(
            "map", func, iterable, chunksize, priority, timeout, retries, progress
        )
        return self._start_list(request, callback, error_callback)

    def starmap(
        self,
        func: Callable[..., R],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        *,
        priority: int = 0,
        timeout: float | None = None,
        retries: int | None = None,
        progress: ProgressOption = None,
    ) -> list[R]:
        """``[func(*args) for args in iterable]``, in parallel."""
        request = self._map_request(
            "starmap", func, iterable, chunksize, priority, timeout, retries, progress, STAR
        )
        return self._run_list(request)

    def starmap_async(
        self,
        func: Callable[..., R],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[list[R]], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        priority: int = 0,
        timeout: float | None = None,
        retries: int | None = None,
        progress: ProgressOption = None,
    ) -> MapResult[R]:
        request = self._map_request(
            "starmap", func, iterable, chunksize, priority, timeout, retries, progress, STAR
        )
        return self._start_list(request, callback, error_callback)

    def imap(
        self,
        func: Callable[[T], R],
        iterable: Iterable[T],
        chunksize: int | None = None,
        *,
        priority: int = 0,
        timeout: float | None = None,
        retries: int | None = None,
        progress: ProgressOption = None,
    ) -> IMapIterator[R]:
        """Results in input order, as they become available; the input is read lazily."""
        request = self._map_request(
            "imap", func, iterable, chunksize, priority, timeout, retries, progress
        )
        return self._start_stream(request, ordered=True)

    def imap_unordered(
        self,
        func: Callable[[T], R],
        iterable: Iterable[T],
        chunksize: int | None = None,
        *,
        priority: int = 0,
        timeout: float | None = None,
        retries: int | None = None,
        progress: ProgressOption = None,
    ) -> IMapIterator[R]:
        """Results in completion order; the input is read lazily."""
        request = self._map_request(
            "imap_unordered", func, iterable, chunksize, priority, timeout, retries, progress
        )
        return self._start_stream(request, ordered=False)

    def _map_request(
        self,
        kind: str,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        chunksize: int | None,
        priority: int,
        timeout: float | None,
        retries: int | None,
        progress: ProgressOption,
        style: CallStyle = CallStyle.ONE,
    ) -> MapRequest:
        options = self._defaults.options(priority, 0.0, timeout, retries)
        return MapRequest(kind, func, iterable, style, options, chunksize, progress=progress)

    def _start_list(
        self,
        request: MapRequest,
        callback: Callable[[list[R]], object] | None,
        error_callback: Callable[[BaseException], object] | None,
    ) -> MapResult[R]:
        engine = self._running_engine()
        result: MapResult[R] = MapResult(callback, error_callback)
        sink = ListSink(
            request.exact_total,
            result._resolve_value,
            result._resolve_error,
            runs_user_code=callback is not None or error_callback is not None,
        )
        result._job = engine.submit_map(request, sink)
        return result

    def _run_list(self, request: MapRequest) -> list[Any]:
        """Run a map-family call while this thread waits for all of it (``map``, ``starmap``):
        nothing of the caller runs meanwhile, which lets a large array be shared in place."""
        request.waiting_caller = threading.get_ident()
        return self._start_list(request, None, None).get()

    def _start_stream(self, request: MapRequest, *, ordered: bool) -> IMapIterator[R]:
        engine = self._running_engine()
        sink = StreamSink(ordered)
        return IMapIterator(engine, engine.submit_map(request, sink), sink)

    def cancel(self, result: AsyncResult[Any] | IMapIterator[Any]) -> None:
        """Cancel a call, including its running tasks: their workers are stopped and replaced.

        Unfinished tasks of the call fail with ``TaskCancelledError``; finished ones keep their
        results.  (A thread cannot be stopped: a cancelled task's thread is abandoned after its
        current item and a fresh thread takes its place.)
        """
        engine = self._engine
        job = result._job
        if engine is None or job is None:
            return
        engine.cancel(job, stop_running=True)

    # -- lifecycle

    def close(self) -> None:
        """Accept no more tasks; workers exit once the submitted ones are done."""
        if self._engine is not None:
            self._engine.close()

    def terminate(self) -> None:
        """Stop the workers now; unfinished tasks fail with ``TaskCancelledError``."""
        if self._engine is not None:
            self._engine.terminate()

    def join(self) -> None:
        """Wait for the workers to exit (after ``close()`` or ``terminate()``)."""
        engine = self._engine
        if engine is None:
            return
        if engine.running:
            raise ValueError("Pool is still running")
        engine.join()

    def __enter__(self) -> Pool:
        self._running_engine()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # As in multiprocessing: leaving the block terminates the pool.
        self.terminate()
        self.join()

    def __del__(self, _finalizing: Callable[[], bool] = sys.is_finalizing) -> None:
        # A default, as multiprocessing.Pool binds its own: collected at the program's exit, after
        # Python set the modules' globals to None, the pool was ended by ``end_at_exit`` already.
        engine = getattr(self, "_engine", None)
        if engine is not None and not _finalizing() and engine.running:
            warnings.warn(
                f"unclosed running multiprocessing pool {self!r}",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )
            engine.terminate()

    def __repr__(self) -> str:
        engine = self._engine
        state = engine.state if engine is not None else "broken"
        backend = engine.backend.capabilities.name if engine is not None else "?"
        return f"<corepool.{type(self).__name__} state={state} workers={self._processes} {backend}>"

    # -- insight

    def statistics(self) -> PoolStatistics:
        """A snapshot of the workers (pid or thread, idle or busy, tasks done) and the queue."""
        assert self._engine is not None
        return self._engine.statistics()

    def insights(self) -> PoolInsights:
        """Where each worker's time went (running, waiting for work, reading and writing, in
        transit), the slowest tasks with their arguments, and suggestions; ``print()`` it."""
        assert self._engine is not None
        return self._engine.insights()

    def _running_engine(self) -> Engine:
        engine = self._engine
        if engine is None or not engine.running:
            raise PoolClosedError("Pool not running")
        return engine


class ThreadPool(Pool):
    """A pool of threads with the API of ``multiprocessing.pool.ThreadPool``."""

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        *,
        timeout: float | None = None,
        retries: int = 0,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(
            processes,
            initializer,
            initargs,
            backend="threads",
            timeout=timeout,
            retries=retries,
            settings=settings,
        )
