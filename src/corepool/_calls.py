"""What the two front doors share: checking the sizes they are given, pool-wide defaults, and
opening the engine behind them."""

from __future__ import annotations

import multiprocessing.context
from collections.abc import Callable, Iterable
from typing import Any, Literal

from corepool._backends import processes as _processes  # noqa: F401
from corepool._backends.base import BackendOptions, Flavour
from corepool._backends.registry import create_backend
from corepool._engine.engine import Engine
from corepool._engine.limits import WorkerLimits, parse_memory
from corepool._engine.tasks import TaskOptions

# The processes backend is imported with the front doors rather than by the registry at the first
# pool: the first pool then costs what every later one does (~24 ms of imports otherwise land
# inside a pool's start-up; benchmarks/ times start-up and reports imports apart).  The threads
# backend is left to the registry: a program of process pools never needs it (~5 ms).
from corepool._record import Record
from corepool.settings import DEFAULT_SETTINGS, Settings

# -- sizes

_TOO_SMALL = {
    "Number of processes": "Number of processes must be at least 1",
    "max_workers": "max_workers must be greater than 0",
    "maxtasksperchild": "maxtasksperchild must be a positive int or None",
    "max_tasks_per_child": "max_tasks_per_child must be >= 1",
}
_NOT_AN_INT = {
    # multiprocessing.Pool says ValueError for any maxtasksperchild that is not a positive int.
    "maxtasksperchild": ValueError(_TOO_SMALL["maxtasksperchild"]),
    "max_tasks_per_child": TypeError("max_tasks_per_child must be an integer"),
}


def check_size(size: int | None, default: int, what: str) -> int:
    """``size``, or ``default`` when it is None; raises with the standard library's own types
    and messages, word for word, so that a program (or a test) that matches them keeps working:

        Pool                 processes            ValueError "Number of processes must be at
                                                  least 1"
                             maxtasksperchild     ValueError "maxtasksperchild must be a positive
                                                  int or None" (also for "12" or 0.5)
        *PoolExecutor        max_workers          ValueError "max_workers must be greater than 0"
        ProcessPoolExecutor  max_tasks_per_child  TypeError "max_tasks_per_child must be an
                                                  integer", ValueError "max_tasks_per_child must
                                                  be >= 1"

    (the same on Python 3.11 and 3.13).  A size that is not an int at all, where the standard
    library would fail later on a comparison, is a ``TypeError`` naming the argument.
    """
    if size is None:
        return default
    if not isinstance(size, int) or (isinstance(size, bool) and what not in _NOT_AN_INT):
        standard = _NOT_AN_INT.get(what)
        if standard is not None:
            raise type(standard)(*standard.args)
        raise TypeError(f"{what} must be an integer, not {type(size).__name__}")
    if size < 1:
        raise ValueError(_TOO_SMALL.get(what, f"{what} must be at least 1, got {size}"))
    return size


NativeThreads = int | Literal["auto"] | None


class CallDefaults(Record):
    """Pool-wide defaults for per-call options."""

    timeout: float | None = None
    retries: int = 0

    def options(
        self,
        priority: int = 0,
        delay: float = 0.0,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> TaskOptions:
        return TaskOptions(
            priority=priority,
            delay=delay,
            timeout=self.timeout if timeout is None else timeout,
            retries=self.retries if retries is None else retries,
        )


def open_engine(
    backend: str,
    size: int,
    *,
    initializer: Callable[..., object] | None,
    initargs: Iterable[Any],
    context: multiprocessing.context.BaseContext | str | None = None,
    native_threads: NativeThreads = "auto",
    thread_name_prefix: str = "",
    max_tasks: int | None = None,
    max_tasks_name: str = "maxtasksperchild",
    max_memory: int | str | None = None,
    settings: Settings | None = None,
    flavour: Flavour = Flavour.MULTIPROCESSING,
    address: str | None = None,
    client: Any = None,
    size_given: bool = True,
) -> Engine:
    """The engine behind a front door, from the front door's (validated) arguments.

    Without ``size_given``, a backend that knows its own size (a cluster's threads) overrides
    ``size``, the front door's default.
    """
    if (address is not None or client is not None) and backend != "dask":
        raise ValueError(f"address= and client= are for backend='dask', not {backend!r}")
    if max_tasks is not None:
        check_size(max_tasks, 1, max_tasks_name)
    if initializer is not None and not callable(initializer):
        raise TypeError("initializer must be a callable")
    limits = WorkerLimits(max_tasks, parse_memory(max_memory))
    options = BackendOptions(
        size=size,
        settings=settings or DEFAULT_SETTINGS,
        initializer=initializer,
        initargs=tuple(initargs),
        context=context,
        native_threads=native_threads,
        thread_name_prefix=thread_name_prefix,
        measure_memory=limits.max_memory is not None,
        flavour=flavour,
        address=address,
        client=client,
    )
    worker_backend = create_backend(backend, options)
    if not size_given:
        try:
            size = worker_backend.default_size or size
        except BaseException:
            worker_backend.close()
            raise
    if limits.max_memory is not None and not worker_backend.capabilities.isolates_workers:
        worker_backend.close()
        raise ValueError(
            f"max_memory_per_worker needs worker processes: {backend} share one process's memory"
        )
    return Engine(
        worker_backend,
        size,
        worker_backend.tuned(options.settings),
        limits=limits,
        # As the standard executors: threads that cannot start fail the tasks (BrokenProcessPool)
        broken_without_threads=flavour is Flavour.CONCURRENT_FUTURES,
    )


__all__ = ["CallDefaults", "NativeThreads", "check_size", "open_engine"]
