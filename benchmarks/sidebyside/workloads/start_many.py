"""64 worker processes started and warmed up: the cost of a large pool.

One fresh interpreter per run, the library imported before the clock starts: each row loads
the modules of its pool first (``multiprocessing.pool``, ``concurrent.futures.process``, corepool's
lazily loaded engine), since the import is the ``start_first`` workload's business.  Timed from just
before the pool is created to the end of a warm-up ``map`` of 4 trivial tasks per worker with
chunksize=1 (so that the pool's workers are up and have taken tasks); the shutdown that follows
(close and join, or ``shutdown(wait=True)``) is timed apart, in the *shutdown* column.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sidebyside.model import Params, RowStats, TargetCheck, Workload
from sidebyside.start_rows import MP_DEFAULT, REFERENCE, start_rows
from sidebyside.stats import paired
from sidebyside.tasks import noop

WORKERS = 64


def _measure(
    start: Callable[[], Any], warm: Callable[[Any], None], stop: Callable[[Any], None]
) -> dict[str, Any]:
    started = time.perf_counter()
    pool = start()
    warm(pool)
    warmed = time.perf_counter()
    stop(pool)
    return {"seconds": warmed - started, "shutdown_seconds": time.perf_counter() - warmed}


def _pool_warm(pool: Any) -> None:
    pool.map(noop, range(WORKERS * 4), chunksize=1)


def _pool_stop(pool: Any) -> None:
    pool.close()
    pool.join()


def _executor_warm(executor: Any) -> None:
    list(executor.map(noop, range(WORKERS * 4), chunksize=1))


def _executor_stop(executor: Any) -> None:
    executor.shutdown(wait=True)


def mp_pool(method: str | None) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        import multiprocessing
        import multiprocessing.pool  # loaded before the clock starts

        context = multiprocessing.get_context(method)
        return _measure(lambda: context.Pool(WORKERS), _pool_warm, _pool_stop)

    return run


def futures_process(p: Params) -> dict[str, Any]:
    import concurrent.futures

    concurrent.futures.ProcessPoolExecutor  # noqa: B018 - loaded before the clock starts
    return _measure(
        lambda: concurrent.futures.ProcessPoolExecutor(WORKERS), _executor_warm, _executor_stop
    )


def corepool_pool(p: Params) -> dict[str, Any]:
    import corepool

    corepool.Pool  # noqa: B018 - load the lazy module before the clock starts
    return _measure(lambda: corepool.Pool(WORKERS), _pool_warm, _pool_stop)


def corepool_executor(p: Params) -> dict[str, Any]:
    import corepool

    corepool.ProcessPoolExecutor  # noqa: B018 - load the lazy module before the clock starts
    return _measure(lambda: corepool.ProcessPoolExecutor(WORKERS), _executor_warm, _executor_stop)


def prepare(quick: bool) -> dict[str, Any]:
    return {}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    ours, theirs = stats[REFERENCE], stats[MP_DEFAULT]
    compared = paired(ours, theirs)
    return [
        TargetCheck(
            "corepool.Pool: 64 workers started and warmed up <= 1.5x multiprocessing.Pool",
            f"{ours.median:.3f} s vs {theirs.median:.3f} s (medians); {compared.text()}",
            compared.median <= 1.5,
        )
    ]


WORKLOAD = Workload(
    name="start_many",
    title="64 worker processes started and warmed up",
    description=__doc__ or "",
    rows=start_rows(mp_pool, futures_process, corepool_pool, corepool_executor),
    reference=REFERENCE,
    prepare=prepare,
    check=check,
    rounds=2,  # ~0.1-0.7 s a run; 64 forks on 2 cores move by tens of percent
    extra_columns=(("shutdown_seconds", "shutdown (s)", "{:.3f}"),),
)
