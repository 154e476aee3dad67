"""``ProcessPoolExecutor`` and ``ThreadPoolExecutor``: the ``concurrent.futures`` front doors.

Subclasses of ``concurrent.futures.Executor``: ``submit`` returns a real
``concurrent.futures.Future``, so ``wait``, ``as_completed`` and ``add_done_callback`` work.  Where
the standard library is known to misbehave, corepool does better:

* a crashed worker fails only its own task with ``WorkerLostError``; the executor is never
  "broken" and keeps taking work;
* ``map`` without ``chunksize`` sizes chunks from measured task times (the standard default of 1
  costs a round trip per item) and reads its input lazily through a bounded window;
* lambdas and closures work as functions.

``submit(fn, *args, **kwargs)`` passes every keyword to ``fn``, exactly as the standard library
does; per-task options (``priority``, ``delay``, ``timeout``, ``retries``) go through
``schedule(fn, args, kwargs, ...)`` so that they can never shadow an argument of ``fn`` (think of
``submit(requests.get, url, timeout=5)``).
"""

from __future__ import annotations

import multiprocessing.context
from collections.abc import Callable, Iterable
from typing import Any

from corepool._backends.base import Flavour
from corepool._calls import CallDefaults, NativeThreads, check_size, open_engine
from corepool._executor_base import EngineExecutor
from corepool._lifecycle.start_method import resolve_context
from corepool._worker.native_threads import available_cores
from corepool.settings import Settings

__all__ = ["Executor", "ProcessPoolExecutor", "ThreadPoolExecutor"]


class ProcessPoolExecutor(EngineExecutor):
    """``concurrent.futures.ProcessPoolExecutor``, on corepool's engine.

    ``backend="dask"`` with ``address`` or ``client`` runs it on a Dask cluster instead of local
    processes (``max_workers`` then defaults to the cluster's threads; see docs/many-machines.md).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        mp_context: multiprocessing.context.BaseContext | str | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        *,
        max_tasks_per_child: int | None = None,
        timeout: float | None = None,
        retries: int = 0,
        max_memory_per_worker: int | str | None = None,
        native_threads: NativeThreads = "auto",
        settings: Settings | None = None,
        backend: str = "processes",
        address: str | None = None,
        client: Any = None,
    ) -> None:
        size = check_size(max_workers, available_cores(), "max_workers")
        defaults = CallDefaults(timeout, retries)
        defaults.options()
        if backend not in ("processes", "dask"):
            raise ValueError(f"backend must be 'processes' or 'dask', not {backend!r}")
        _refuse_fork_with_max_tasks(mp_context, max_tasks_per_child)
        engine = open_engine(
            backend,
            size,
            initializer=initializer,
            initargs=initargs,
            context=mp_context,
            native_threads=native_threads,
            max_tasks=max_tasks_per_child,
            max_tasks_name="max_tasks_per_child",
            max_memory=max_memory_per_worker,
            settings=settings,
            flavour=Flavour.CONCURRENT_FUTURES,
            address=address,
            client=client,
            size_given=max_workers is not None,
        )
        self._max_workers = engine.size
        self._start(engine, defaults)


def _refuse_fork_with_max_tasks(
    mp_context: multiprocessing.context.BaseContext | str | None, max_tasks: int | None
) -> None:
    """The standard refuses a fork context with ``max_tasks_per_child``, and so does corepool.

    A worker that has done its tasks is replaced by forking the parent again, and the parent runs
    the pool's threads by then: a fork of a threaded process can inherit a lock held by one of
    them and hang.  Same type and words as ``concurrent.futures``, at the call.
    """
    if mp_context is None or not isinstance(max_tasks, int) or max_tasks < 1:
        return  # an invalid count gets its own message first, as in the standard
    if resolve_context(mp_context).get_start_method() == "fork":
        raise ValueError(
            "max_tasks_per_child is incompatible with the 'fork' multiprocessing start method;"
            " supply a different mp_context."
        )


class ThreadPoolExecutor(EngineExecutor):
    """``concurrent.futures.ThreadPoolExecutor``, on corepool's engine."""

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        *,
        timeout: float | None = None,
        retries: int = 0,
        settings: Settings | None = None,
    ) -> None:
        size = check_size(max_workers, min(32, available_cores() + 4), "max_workers")
        defaults = CallDefaults(timeout, retries)
        defaults.options()
        self._max_workers = size
        engine = open_engine(
            "threads",
            size,
            initializer=initializer,
            initargs=initargs,
            thread_name_prefix=thread_name_prefix or "ThreadPoolExecutor",
            settings=settings,
            flavour=Flavour.CONCURRENT_FUTURES,
        )
        self._start(engine, defaults)


class Executor(EngineExecutor):
    """A ``concurrent.futures`` executor on the backend of your choice, ``"auto"`` by default:
    it runs its first tasks on threads, measures them, and moves to processes if they are
    CPU-bound Python (``statistics().backend_choice`` says what it chose and why)."""

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        backend: str = "auto",
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        timeout: float | None = None,
        retries: int = 0,
        settings: Settings | None = None,
    ) -> None:
        size = check_size(max_workers, available_cores(), "max_workers")
        defaults = CallDefaults(timeout, retries)
        defaults.options()
        self._max_workers = size
        engine = open_engine(
            backend,
            size,
            initializer=initializer,
            initargs=initargs,
            settings=settings,
            flavour=Flavour.CONCURRENT_FUTURES,
        )
        self._start(engine, defaults)
