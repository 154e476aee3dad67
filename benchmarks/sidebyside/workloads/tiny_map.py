"""200,000 tiny tasks (``x * x``) through ``map`` with each peer's default arguments.

Times one ``map`` call on a started, warmed-up pool of 2 workers (start-up is the ``start``
workload's business).  ``ProcessPoolExecutor.map`` with its default ``chunksize=1`` pays one round
trip per item and would take tens of seconds, so it runs on fewer items and is scaled linearly
(the per-item cost is flat once the pool is busy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidebyside import pools
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import square

WORKERS = 2


def _expect(results: Any, count: int) -> None:
    results = list(results)
    if len(results) != count or results[-1] != (count - 1) ** 2:
        raise AssertionError(f"wrong results: {len(results)} items, last {results[-1]!r}")


def _measure(map_call: Any, count: int, scale: float = 1.0) -> dict[str, Any]:
    seconds, results = pools.timed(lambda: list(map_call(range(count))))
    _expect(results, count)
    return {"seconds": seconds * scale, "measured_seconds": seconds, "items": count}


def serial(p: Params) -> dict[str, Any]:
    return _measure(lambda items: map(square, items), p["items"])


def mp_pool(p: Params) -> dict[str, Any]:
    with pools.mp_pool(WORKERS) as pool:
        return _measure(lambda items: pool.map(square, items), p["items"])


def futures_process(p: Params) -> dict[str, Any]:
    count = p["items_chunksize_1"]
    with pools.futures_executor(WORKERS) as executor:
        return _measure(lambda items: executor.map(square, items), count, p["items"] / count)


def joblib_loky(p: Params) -> dict[str, Any]:
    with pools.joblib_parallel(WORKERS) as parallel:
        return _measure(lambda items: parallel(pools.delayed_calls(square, items)), p["items"])


def mpire(p: Params) -> dict[str, Any]:
    with pools.mpire_pool(WORKERS) as pool:
        return _measure(lambda items: pool.map(square, items), p["items"])


def corepool_pool(p: Params) -> dict[str, Any]:
    with pools.corepool_pool(WORKERS) as pool:
        return _measure(lambda items: pool.map(square, items), p["items"])


def corepool_executor(p: Params) -> dict[str, Any]:
    with pools.corepool_executor(WORKERS) as executor:
        return _measure(lambda items: executor.map(square, items), p["items"])


def prepare(quick: bool) -> dict[str, Any]:
    return {"items": 200_000, "items_chunksize_1": 2_000 if quick else 10_000}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    ours = stats["corepool.Pool"]
    peers = {
        label: paired(row, ours)
        for label, row in stats.items()
        if not label.startswith(("corepool", "serial")) and not row.errors
    }
    fastest = min(peers, key=lambda label: peers[label].median)
    to_mp = peers["multiprocessing.Pool"]
    checks = [
        TargetCheck(
            "corepool.Pool.map at least as fast as the fastest peer",
            f"{ours.median:.3f} s vs {fastest} {stats[fastest].median:.3f} s (medians); "
            f"{peers[fastest].text()}",
            peers[fastest].median >= 1,
        ),
        TargetCheck(
            "corepool.Pool.map >= 1.5x multiprocessing.Pool.map (issue 10)",
            f"{ours.median:.3f} s vs {stats['multiprocessing.Pool'].median:.3f} s (medians); "
            f"{to_mp.text()}",
            to_mp.median >= 1.5,
        ),
    ]
    executor = paired(stats[FUTURES_CHUNKSIZE_1], ours)
    checks.append(
        TargetCheck(
            "corepool.Pool.map >= 100x faster than ProcessPoolExecutor.map(chunksize=1)",
            f"x{executor.median:.0f} round by round ({executor.low:.0f}-{executor.high:.0f})",
            executor.median >= 100,
        )
    )
    return checks


FUTURES_CHUNKSIZE_1 = "concurrent.futures.ProcessPoolExecutor (chunksize=1)"

WORKLOAD = Workload(
    name="tiny_map",
    title="200,000 tiny tasks through map (default arguments)",
    description=__doc__ or "",
    rows=(
        Row("serial loop", serial),
        Row("multiprocessing.Pool", mp_pool, "default start method (fork on Linux up to 3.13)"),
        Row(
            FUTURES_CHUNKSIZE_1,
            futures_process,
            "its default chunksize=1: measured on {items_chunksize_1:,} items, scaled to 200,000",
        ),
        Row("joblib (loky)", joblib_loky, "Parallel(n_jobs=2) over a generator of delayed calls"),
        Row("mpire", mpire, "WorkerPool(n_jobs=2, keep_alive=True), workers warmed up"),
        Row("corepool.Pool", corepool_pool),
        Row("corepool.ProcessPoolExecutor", corepool_executor),
    ),
    reference="corepool.Pool",
    prepare=prepare,
    check=check,
)
