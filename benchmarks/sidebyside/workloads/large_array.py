"""One 256 MB NumPy array passed to 16 tasks on 2 workers: time and peak memory.

Each task gets ``(array, i)`` and reads one float per 4 KiB page of the array (every page is
touched).  corepool, joblib and ``multiprocessing.Pool`` run on a pool started and warmed up
before the array exists; the timed part is one ``starmap`` of the 16 ``(array, i)`` pairs (joblib:
``Parallel`` over 16 delayed calls, large arrays memory-mapped, its default).  mpire's
copy-on-write hands the array to workers by forking them after it exists
(``WorkerPool(shared_objects=array)``): its timed part is starting that pool *and* the map, since
the fork is its transport.

Memory: after the timed call, the same call runs again with a sampler (another process, so that
the measured program keeps one thread) reading the summed PSS of the process and its descendants
every 10 ms (``memory.PeakTreePss``): *peak PSS*.  *interpreters*
is the same sum just before the array was made (mpire: the parent alone, its workers do not exist
yet), so *peak - interpreters* is what the array and its transport cost.

NumPy is imported before any pool starts, as a program that passes arrays imports it at its top:
workers started before the program's first ``import numpy`` would import it themselves when their
first array arrives (~0.1-0.2 s each, in the timed call); mpire's, forked after, have it, and so
do corepool's, forked from its zygote (a fork of the program made at its first pool).

The automatic transport copies the array once into shared memory (the workers existed before
it, so no fork can share it), and, since ``starmap`` waits and the program has one thread, maps
the array's own pages from that copy as it goes (``shared/_in_place.py``): the parent does not
hold the array and its copy.  The row
``corepool.Pool (SharedArray)`` shows the zero-copy path, for a program that makes its array in
shared memory from the start (``corepool.SharedArray``, filled in place): nothing is copied.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping
from typing import Any

from sidebyside import pools
from sidebyside.memory import PeakTreePss, tree_pss_mb
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import noop

WORKERS = 2
TASKS = 16
MEGABYTES = 256


def read_pages(array: Any, i: int) -> float:
    return float(array[::512].sum()) + i  # float64: one read per 4 KiB page


def read_shared(shared: Any, i: int) -> float:
    return read_pages(shared, i)


def _array(p: Params) -> Any:
    import numpy as np

    return np.full(p["items"], 1.5)


def _expected(array: Any) -> list[float]:
    base = read_pages(array, 0)
    return [base + i for i in range(TASKS)]


def _shared_array(p: Params) -> Any:
    import corepool

    shared = corepool.SharedArray(p["items"])
    shared.array.fill(1.5)
    return shared


def _measure(
    make_call: Callable[[Any], Callable[[], list[float]]],
    p: Params,
    make_array: Callable[[Params], Any] = _array,
) -> dict[str, Any]:
    gc.collect()
    interpreters = tree_pss_mb()
    array = make_array(p)
    expected = _expected(array)
    call = make_call(array)
    started = time.perf_counter()
    results = call()
    seconds = time.perf_counter() - started
    if list(results) != expected:
        raise AssertionError(f"wrong results: {list(results)[:3]}")
    gc.collect()
    with PeakTreePss() as memory:
        results = call()
    if list(results) != expected:
        raise AssertionError("wrong results in the second call")
    return {
        "seconds": seconds,
        "peak_pss_mb": memory.peak,
        "interpreters_mb": interpreters,
        "added_mb": memory.peak - interpreters,
    }


def _pairs(array: Any) -> list[tuple[Any, int]]:
    return [(array, i) for i in range(TASKS)]


def _numpy_first(run: Callable[[Params], dict[str, Any]]) -> Callable[[Params], dict[str, Any]]:
    """``run`` in a process that imported NumPy before its pool started (see above)."""

    def with_numpy(p: Params) -> dict[str, Any]:
        import numpy  # noqa: F401

        return run(p)

    return with_numpy


def corepool_pool(p: Params) -> dict[str, Any]:
    with pools.corepool_pool(WORKERS) as pool:
        return _measure(lambda array: lambda: pool.starmap(read_pages, _pairs(array)), p)


def corepool_shared_array(p: Params) -> dict[str, Any]:
    with pools.corepool_pool(WORKERS) as pool:
        return _measure(
            lambda array: lambda: pool.starmap(read_pages, _pairs(array)), p, _shared_array
        )


def mp_pool(p: Params) -> dict[str, Any]:
    with pools.mp_pool(WORKERS) as pool:
        return _measure(lambda array: lambda: pool.starmap(read_pages, _pairs(array)), p)


def joblib_memmap(p: Params) -> dict[str, Any]:
    import joblib

    with pools.joblib_parallel(WORKERS) as parallel:
        call = joblib.delayed(read_pages)
        return _measure(lambda array: lambda: parallel(call(array, i) for i in range(TASKS)), p)


def mpire_copy_on_write(p: Params) -> dict[str, Any]:
    from mpire import WorkerPool

    def run(array: Any) -> list[float]:
        with WorkerPool(n_jobs=WORKERS, shared_objects=array, start_method="fork") as pool:
            pool.map(noop, range(WORKERS), chunk_size=1)  # as the others: every worker ran one
            return list(pool.map(read_shared, range(TASKS), chunk_size=1))

    return _measure(lambda array: lambda: run(array), p)


def prepare(quick: bool) -> dict[str, Any]:
    return {"items": MEGABYTES * 1_000_000 // 8}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    ours, mpire = stats[REFERENCE], stats[MPIRE]
    added = ours.extras["added_mb"]
    compared = paired(ours, mpire)
    return [
        TargetCheck(
            "corepool.Pool automatic transport within 1.5x mpire's copy-on-write time",
            f"{ours.median:.3f} s vs {mpire.median:.3f} s (medians); {compared.text()}",
            compared.median <= 1.5,
        ),
        TargetCheck(
            f"corepool.Pool: peak PSS <= 1.3x the {MEGABYTES} MB array + the interpreters",
            f"{ours.extras['peak_pss_mb']:.0f} MB = {ours.extras['interpreters_mb']:.0f} MB "
            f"interpreters + {added:.0f} MB ({added / MEGABYTES:.2f}x the array); mpire "
            f"{mpire.extras['peak_pss_mb']:.0f} MB",
            added <= 1.3 * MEGABYTES,
        ),
    ]


REFERENCE = "corepool.Pool (automatic)"
MPIRE = "mpire (copy-on-write)"

WORKLOAD = Workload(
    name="large_array",
    title=f"one {MEGABYTES} MB NumPy array to {TASKS} tasks on {WORKERS} workers",
    description=__doc__ or "",
    rows=(
        Row(
            REFERENCE,
            _numpy_first(corepool_pool),
            "starmap on a warm pool: the array goes by shared memory",
        ),
        Row(
            "corepool.Pool (SharedArray)",
            _numpy_first(corepool_shared_array),
            "the array made in shared memory (corepool.SharedArray): no copy",
        ),
        Row(
            MPIRE,
            _numpy_first(mpire_copy_on_write),
            "WorkerPool(shared_objects=array), fork: start included",
        ),
        Row(
            "joblib (memmap)",
            _numpy_first(joblib_memmap),
            "Parallel(n_jobs=2), max_nbytes='1M' (its default)",
        ),
        Row(
            "multiprocessing.Pool (pickling)",
            _numpy_first(mp_pool),
            "starmap on a warm pool: the array is pickled into every task",
        ),
    ),
    reference=REFERENCE,
    prepare=prepare,
    check=check,
    extra_columns=(
        ("peak_pss_mb", "peak PSS (MB)", "{:.0f}"),
        ("interpreters_mb", "interpreters (MB)", "{:.0f}"),
        ("added_mb", "peak - interpreters (MB)", "{:.0f}"),
    ),
)
