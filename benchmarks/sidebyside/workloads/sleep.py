"""400 tasks of ``time.sleep(0.05)`` on 64 threads.

The bound is ceil(400 / 64) = 7 waves of 50 ms = 0.35 s; a pool reaches it only if every thread
takes a new task the moment it is free and no task waits behind another in a chunk.  Times one
``map`` call on a started pool (the threads already exist).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sidebyside import pools
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.tasks import nap

THREADS = 64
TASKS = 400
NAP_SECONDS = 0.05
BOUND_SECONDS = math.ceil(TASKS / THREADS) * NAP_SECONDS


def _measure(map_call: Any) -> dict[str, Any]:
    naps = [NAP_SECONDS] * TASKS
    seconds, results = pools.timed(lambda: list(map_call(naps)))
    if results != naps:
        raise AssertionError("wrong results")
    return {"seconds": seconds}


def futures_threads(p: Params) -> dict[str, Any]:
    with pools.futures_executor(THREADS, threads=True) as executor:
        return _measure(lambda naps: executor.map(nap, naps))


def mp_thread_pool(p: Params) -> dict[str, Any]:
    with pools.mp_pool(THREADS, threads=True) as pool:
        return _measure(lambda naps: pool.map(nap, naps))


def joblib_threading(p: Params) -> dict[str, Any]:
    with pools.joblib_parallel(THREADS, backend="threading") as parallel:
        return _measure(lambda naps: parallel(pools.delayed_calls(nap, naps)))


def mpire_threads(p: Params) -> dict[str, Any]:
    with pools.mpire_pool(THREADS, start_method="threading") as pool:
        return _measure(lambda naps: pool.map(nap, naps))


def corepool_threads(p: Params) -> dict[str, Any]:
    with pools.corepool_pool(THREADS, backend="threads") as pool:
        return _measure(lambda naps: pool.map(nap, naps))


def corepool_thread_executor(p: Params) -> dict[str, Any]:
    with pools.corepool_executor(THREADS, threads=True) as executor:
        return _measure(lambda naps: executor.map(nap, naps))


def prepare(quick: bool) -> dict[str, Any]:
    return {"bound_seconds": BOUND_SECONDS}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    checks = []
    for label in (REFERENCE, "corepool.ThreadPoolExecutor"):
        median = stats[label].median
        checks.append(
            TargetCheck(
                f"{label}: within 5% of {BOUND_SECONDS:.2f} s",
                f"{median:.3f} s ({median / BOUND_SECONDS - 1:+.1%})",
                median <= BOUND_SECONDS * 1.05,
            )
        )
    return checks


def annotate(stats: Mapping[str, RowStats]) -> dict[str, dict[str, float]]:
    return {label: {"over_bound": row.median / BOUND_SECONDS - 1} for label, row in stats.items()}


REFERENCE = "corepool.Pool(backend='threads')"

WORKLOAD = Workload(
    name="sleep",
    title=f"{TASKS} x sleep({NAP_SECONDS}) on {THREADS} threads (bound {BOUND_SECONDS:.2f} s)",
    description=__doc__ or "",
    rows=(
        Row("concurrent.futures.ThreadPoolExecutor", futures_threads),
        Row(
            "multiprocessing.pool.ThreadPool",
            mp_thread_pool,
            "map's default chunksize is ceil(400 / (64 x 4)) = 2: two naps per chunk",
        ),
        Row("joblib (threading)", joblib_threading),
        Row("mpire (threading)", mpire_threads),
        Row(REFERENCE, corepool_threads),
        Row("corepool.ThreadPoolExecutor", corepool_thread_executor),
    ),
    reference=REFERENCE,
    prepare=prepare,
    check=check,
    extra_columns=(("over_bound", "over bound", "{:+.1%}"),),
    annotate=annotate,
)
