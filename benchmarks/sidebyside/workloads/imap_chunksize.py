"""2 M tiny tasks (``x * x``) with an explicit ``chunksize=1000``: the cost of each chunk.

A user who passes ``chunksize`` chose how many items travel per message; with tiny tasks each
chunk then holds ~0.1-0.3 ms of work, and whatever a pool spends per chunk (a round trip to the
parent, waking a thread, a system call) shows directly in the throughput.  Each run consumes one
call over ``range(2_000_000)`` into a sum (``map`` and ``starmap`` build their list first), on a
started, warmed-up pool of 2 workers, in a fresh interpreter.  Every method of the family is
timed against ``multiprocessing.Pool`` with the same chunksize; ``corepool.Pool.imap`` without a
chunksize shows what automatic chunking reaches on the same input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sidebyside import pools
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import multiply, square

WORKERS = 2
CHUNKSIZE = 1_000

Call = Callable[[Any, int], Iterable[int]]
"""(pool, count) -> the results of one call over ``count`` items."""


def _measure(call: Callable[[int], Iterable[int]], count: int) -> dict[str, Any]:
    seconds, total = pools.timed(lambda: sum(call(count)))
    if total != (count - 1) * count * (2 * count - 1) // 6:
        raise AssertionError("wrong sum of squares")
    return {"seconds": seconds, "items_per_second": count / seconds}


def _pairs(count: int) -> Iterable[tuple[int, int]]:
    return zip(range(count), range(count), strict=True)


CALLS: dict[str, Call] = {
    "imap": lambda pool, n: pool.imap(square, range(n), chunksize=CHUNKSIZE),
    "imap_unordered": lambda pool, n: pool.imap_unordered(square, range(n), chunksize=CHUNKSIZE),
    "map": lambda pool, n: pool.map(square, range(n), chunksize=CHUNKSIZE),
    "starmap": lambda pool, n: pool.starmap(multiply, _pairs(n), chunksize=CHUNKSIZE),
    "imap, default chunking": lambda pool, n: pool.imap(square, range(n)),
    "map (executor)": lambda pool, n: pool.map(square, range(n), chunksize=CHUNKSIZE),
}


def corepool_pool(method: str) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.corepool_pool(WORKERS) as pool:
            return _measure(lambda n: CALLS[method](pool, n), p["items"])

    return run


def mp_pool(method: str) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.mp_pool(WORKERS) as pool:
            return _measure(lambda n: CALLS[method](pool, n), p["items"])

    return run


def corepool_executor(p: Params) -> dict[str, Any]:
    with pools.corepool_executor(WORKERS) as executor:
        return _measure(lambda n: CALLS["map (executor)"](executor, n), p["items"])


def futures_executor(p: Params) -> dict[str, Any]:
    with pools.futures_executor(WORKERS) as executor:
        return _measure(lambda n: CALLS["map (executor)"](executor, n), p["items"])


def prepare(quick: bool) -> dict[str, Any]:
    return {"items": 2_000_000}


def _label(library: str, method: str) -> str:
    return f"{library}.{method}(chunksize={CHUNKSIZE})"


COREPOOL_IMAP = _label("corepool.Pool", "imap")
PAIRS = [
    (_label("corepool.Pool", method), _label("multiprocessing.Pool", method))
    for method in ("imap", "imap_unordered", "map", "starmap")
] + [
    (
        _label("corepool.ProcessPoolExecutor", "map"),
        _label("concurrent.futures.ProcessPoolExecutor", "map"),
    )
]


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    checks = []
    for ours, theirs in PAIRS:
        mine, peer = stats[ours].median, stats[theirs].median
        compared = paired(stats[theirs], stats[ours])
        checks.append(
            TargetCheck(
                f"{ours} at least as fast as {theirs}",
                f"{p['items'] / mine / 1e6:.2f} M/s vs {p['items'] / peer / 1e6:.2f} M/s "
                f"(medians); {compared.text()}",
                compared.median >= 1,
            )
        )
    return checks


def _rows() -> tuple[Row, ...]:
    rows: list[Row] = []
    for method in ("imap", "imap_unordered", "map", "starmap"):
        ours = _label("corepool.Pool", method)
        rows += [
            Row(ours, corepool_pool(method), compare_with=ours),
            Row(_label("multiprocessing.Pool", method), mp_pool(method), compare_with=ours),
        ]
    rows.append(
        Row(
            "corepool.Pool.imap (default chunking)",
            corepool_pool("imap, default chunking"),
            compare_with=COREPOOL_IMAP,
        )
    )
    ours = _label("corepool.ProcessPoolExecutor", "map")
    rows += [
        Row(ours, corepool_executor, compare_with=ours),
        Row(
            _label("concurrent.futures.ProcessPoolExecutor", "map"),
            futures_executor,
            "lists its whole input and submits every chunk as a future before the first result",
            compare_with=ours,
        ),
    ]
    return tuple(rows)


WORKLOAD = Workload(
    name="imap_chunksize",
    title="2 M tiny tasks with chunksize=1000: imap, imap_unordered, map, starmap, Executor.map",
    description=__doc__ or "",
    rows=_rows(),
    reference=COREPOOL_IMAP,
    prepare=prepare,
    check=check,
    extra_columns=(("items_per_second", "M items/s", "{:.2f}"),),
)
