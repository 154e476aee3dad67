"""Each peer's pool, started and warmed up, so that a runner times only its workload.

Every context manager yields a pool whose workers have all run a trivial task (``noop``, never the
workload's own function, so that nobody's chunk-size estimate is seeded), and shuts it down
completely on exit.  Peer libraries are imported here, lazily, so that the orchestrator stays light.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sidebyside.tasks import noop

T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    value = work()
    return time.perf_counter() - started, value


def _warm(map_: Callable[..., Any], workers: int) -> None:
    list(map_(noop, range(workers * 4)))


@contextmanager
def _warm_pool(pool: Any, workers: int) -> Iterator[Any]:
    """A ``multiprocessing.Pool``-like pool, warmed up, then closed and joined on exit."""
    try:
        pool.map(noop, range(workers * 4), chunksize=1)
        yield pool
    finally:
        pool.close()
        pool.join()


@contextmanager
def mp_pool(workers: int, method: str | None = None, *, threads: bool = False) -> Iterator[Any]:
    import multiprocessing
    import multiprocessing.pool

    if threads:
        pool: Any = multiprocessing.pool.ThreadPool(workers)
    else:
        pool = multiprocessing.get_context(method).Pool(workers)
    with _warm_pool(pool, workers):
        yield pool


@contextmanager
def futures_executor(workers: int, *, threads: bool = False) -> Iterator[Any]:
    import concurrent.futures

    executor: Any = (
        concurrent.futures.ThreadPoolExecutor(workers)
        if threads
        else concurrent.futures.ProcessPoolExecutor(workers)
    )
    with executor:
        _warm(executor.map, workers)
        yield executor


@contextmanager
def corepool_pool(
    workers: int, backend: str = "processes", context: str | None = None
) -> Iterator[Any]:
    import corepool

    with _warm_pool(corepool.Pool(workers, backend=backend, context=context), workers) as pool:
        yield pool


@contextmanager
def corepool_executor(workers: int, *, threads: bool = False) -> Iterator[Any]:
    import corepool

    executor: Any = (
        corepool.ThreadPoolExecutor(workers) if threads else corepool.ProcessPoolExecutor(workers)
    )
    with executor:
        _warm(lambda fn, items: executor.map(fn, items, chunksize=1), workers)
        yield executor


@contextmanager
def joblib_parallel(workers: int, backend: str = "loky", **options: Any) -> Iterator[Any]:
    """A ``joblib.Parallel`` whose backend's workers are up (loky keeps a reusable executor)."""
    import joblib

    joblib.Parallel(n_jobs=workers, backend=backend)(joblib.delayed(noop)(i) for i in range(4))
    yield joblib.Parallel(n_jobs=workers, backend=backend, **options)
    if backend == "loky":
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor(max_workers=workers).shutdown(wait=True)


@contextmanager
def mpire_pool(workers: int, start_method: str | None = None) -> Iterator[Any]:
    """``keep_alive=True`` so that warm workers take the measured map (mpire otherwise starts its
    workers inside every ``map`` call)."""
    from mpire import WorkerPool

    options: dict[str, Any] = {"n_jobs": workers, "keep_alive": True}
    if start_method is not None:
        options["start_method"] = start_method
    with WorkerPool(**options) as pool:
        pool.map(noop, range(workers * 4), chunk_size=1)
        yield pool
        pool.stop_and_join()


@contextmanager
def pebble_pool(workers: int) -> Iterator[Any]:
    """``pebble.ProcessPool``: its ``map`` returns a future whose result iterates the values."""
    from pebble import ProcessPool

    pool = ProcessPool(max_workers=workers)
    try:
        list(pool.map(noop, range(workers * 4)).result())
        yield pool
    finally:
        pool.close()
        pool.join()


def delayed_calls(fn: Callable[..., Any], items: Any) -> Iterator[Any]:
    import joblib

    call = joblib.delayed(fn)
    return (call(item) for item in items)
