"""Rows shared by the workloads of uneven, long tasks (``primes``, ``fib``): one ``map`` call with
default arguments per peer, plus corepool with ``chunksize=1`` (what a user who knows the tasks
are long would write), and the target of issue 10.

Every pool is started and warmed up before the clock (``pools.py``).  A task list this short and
this uneven leaves no room for batching: the best a pool can do is start the long tasks on
different workers at once, so every peer that sends one task at a time should finish together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sidebyside import pools
from sidebyside.model import Params, Row, RowStats, TargetCheck
from sidebyside.stats import paired

WORKERS = 2
REFERENCE = "corepool.Pool"
CHUNKSIZE_1 = "corepool.Pool (chunksize=1)"
# The rows corepool's default must not trail (issue 10): one task per message, or the best peer.
PEERS = (
    "multiprocessing.Pool",
    "concurrent.futures.ProcessPoolExecutor",
    "pebble.ProcessPool",
    "joblib (loky)",
    "mpire",
    CHUNKSIZE_1,
)

Task = Callable[[Any], Any]


def digest(results: Sequence[Any]) -> list[int]:
    """A short stand-in for each result (fib's are thousands of digits), to check runs against."""
    return [int(value) % 1_000_000_007 for value in results]


def rows(fn: Task, items: Sequence[Any]) -> tuple[Row, ...]:
    """Every peer's ``map(fn, items)``, each checked against the ``digest`` in ``p["expected"]``
    (computed once by the workload's ``prepare``)."""

    def measure(map_call: Callable[[Sequence[Any]], Any], p: Params) -> dict[str, Any]:
        seconds, results = pools.timed(lambda: list(map_call(items)))
        if digest(results) != p["expected"]:
            raise AssertionError(f"wrong results: {digest(results)!r}")
        return {"seconds": seconds}

    def serial(p: Params) -> dict[str, Any]:
        return measure(lambda xs: map(fn, xs), p)

    def mp_pool(p: Params) -> dict[str, Any]:
        with pools.mp_pool(WORKERS) as pool:
            return measure(lambda xs: pool.map(fn, xs), p)

    def futures_process(p: Params) -> dict[str, Any]:
        with pools.futures_executor(WORKERS) as executor:
            return measure(lambda xs: executor.map(fn, xs), p)

    def pebble(p: Params) -> dict[str, Any]:
        with pools.pebble_pool(WORKERS) as pool:
            return measure(lambda xs: pool.map(fn, xs).result(), p)

    def joblib_loky(p: Params) -> dict[str, Any]:
        with pools.joblib_parallel(WORKERS) as parallel:
            return measure(lambda xs: parallel(pools.delayed_calls(fn, xs)), p)

    def mpire(p: Params) -> dict[str, Any]:
        with pools.mpire_pool(WORKERS) as pool:
            return measure(lambda xs: pool.map(fn, xs), p)

    def corepool_pool(p: Params) -> dict[str, Any]:
        with pools.corepool_pool(WORKERS) as pool:
            return measure(lambda xs: pool.map(fn, xs), p)

    def corepool_chunksize_1(p: Params) -> dict[str, Any]:
        with pools.corepool_pool(WORKERS) as pool:
            return measure(lambda xs: pool.map(fn, xs, chunksize=1), p)

    def corepool_executor(p: Params) -> dict[str, Any]:
        with pools.corepool_executor(WORKERS) as executor:
            return measure(lambda xs: executor.map(fn, xs), p)

    return (
        Row("serial loop", serial),
        Row("multiprocessing.Pool", mp_pool, "default start method (fork on Linux up to 3.13)"),
        Row("concurrent.futures.ProcessPoolExecutor", futures_process, "its default chunksize=1"),
        Row("pebble.ProcessPool", pebble, "its default chunksize=1"),
        Row("joblib (loky)", joblib_loky, "Parallel(n_jobs=2) over a generator of delayed calls"),
        Row("mpire", mpire, "WorkerPool(n_jobs=2, keep_alive=True), workers warmed up"),
        Row(REFERENCE, corepool_pool),
        Row(CHUNKSIZE_1, corepool_chunksize_1),
        Row("corepool.ProcessPoolExecutor", corepool_executor),
    )


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    ours = stats[REFERENCE]
    peers = {label: paired(stats[label], ours) for label in PEERS if not stats[label].errors}
    best = min(peers, key=lambda label: peers[label].median)
    return [
        TargetCheck(
            f"{REFERENCE}.map no slower than the best of the peers and chunksize=1",
            f"{ours.median:.3f} s vs {best} {stats[best].median:.3f} s (medians); "
            f"{peers[best].text()}",
            peers[best].median >= 1,
        )
    ]
