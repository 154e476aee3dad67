"""``Executor.map(fn, generator, buffersize=k)``: bounded memory without giving up chunking.

``buffersize`` comes from Python 3.14's ``concurrent.futures``: ``map`` then takes at most ``k``
tasks (chunks, for ``ProcessPoolExecutor`` with a ``chunksize``) from the input ahead of the
consumer, so that an endless or huge generator can be mapped in flat memory.  corepool accepts it
on every Python version.  Each run consumes ``map(square, integers(n))`` into a running sum
(nothing is kept), on a started pool of 2 workers, in a fresh interpreter, and reads the parent's
peak RSS (``VmHWM``) at the end.  ``corepool.Pool.imap`` over the same generator is the reference.

A run stops reading after ``time_limit`` seconds (closing the iterator, which cancels the rest):
a row that fell to one item per message would otherwise take minutes; its throughput is then
that of the items it did read, *done* says how many that was, and its time is projected to the
whole input (its peak RSS is that of the part it read).  The standard library's
executors are left out: Python 3.11 (where this table was made) has no ``buffersize``, and
without it ``ProcessPoolExecutor.map`` lists its whole input before the first task.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sidebyside import pools
from sidebyside.memory import current_rss_mb, peak_rss_mb
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import integers, square

WORKERS = 2
SIZES = {"0.5M": 500_000, "2M": 2_000_000}
BLOCK = 10_000
"""Results read between two looks at the clock (a slice of a list, ~10 ns an item)."""


def _consume(results: Iterator[int], limit: float) -> tuple[int, int]:
    """(sum, count) of the results read before ``limit`` seconds passed."""
    deadline = time.perf_counter() + limit
    total = count = 0
    while True:
        block = list(itertools.islice(results, BLOCK))
        if not block:
            return total, count
        total += sum(block)
        count += len(block)
        if time.perf_counter() > deadline:
            close = getattr(results, "close", None)
            if close is not None:
                close()
            return total, count


def _measure(
    map_call: Callable[[Iterator[int]], Iterator[int]], count: int, limit: float
) -> dict[str, Any]:
    before = current_rss_mb()
    seconds, (total, done) = pools.timed(lambda: _consume(map_call(integers(count)), limit))
    if total != (done - 1) * done * (2 * done - 1) // 6:
        raise AssertionError("wrong sum of squares: results out of order or lost")
    peak = peak_rss_mb()
    return {
        "seconds": seconds * count / max(done, 1),  # projected, for a run that was stopped
        "measured_seconds": seconds,
        "items_per_second": done / seconds,
        "done": done / count,
        "peak_rss_mb": peak,
        "growth_mb": peak - before,
    }


def executor_map(size: str, **options: int) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.corepool_executor(WORKERS) as executor:
            call = lambda items: executor.map(square, items, **options)  # noqa: E731
            return _measure(call, SIZES[size], p["time_limit"])

    return run


def thread_executor_map(size: str, **options: int) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.corepool_executor(WORKERS, threads=True) as executor:
            call = lambda items: executor.map(square, items, **options)  # noqa: E731
            return _measure(call, SIZES[size], p["time_limit"])

    return run


def pool_imap(size: str) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.corepool_pool(WORKERS) as pool:
            call = lambda items: pool.imap(square, items)  # noqa: E731
            return _measure(call, SIZES[size], p["time_limit"])

    return run


def prepare(quick: bool) -> dict[str, Any]:
    return {"time_limit": 10.0 if quick else 30.0}


REFERENCE = "corepool.Pool.imap"
BOUNDED = ("buffersize=8", "buffersize=64")
VARIANTS: dict[str, Callable[[str], Callable[[Params], dict[str, Any]]]] = {
    "buffersize=8": lambda size: executor_map(size, buffersize=8),
    "buffersize=64": lambda size: executor_map(size, buffersize=64),
    "chunksize=1000, buffersize=8": lambda size: executor_map(size, chunksize=1000, buffersize=8),
}


def _executor_label(variant: str, size: str) -> str:
    return f"corepool.ProcessPoolExecutor.map({variant}) {size}"


def _threads_label(size: str) -> str:
    return f"corepool.ThreadPoolExecutor.map(buffersize=8) {size}"


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    checks = []
    imap = stats[f"{REFERENCE} 2M"]
    reference = imap.extras["items_per_second"]
    for variant in BOUNDED:
        small = stats[_executor_label(variant, "0.5M")].extras
        large = stats[_executor_label(variant, "2M")].extras
        ours = large["items_per_second"]
        compared = paired(stats[_executor_label(variant, "2M")], imap, "items_per_second")
        checks += [
            TargetCheck(
                f"ProcessPoolExecutor.map({variant}) >= 0.9x Pool.imap's throughput at 2M",
                f"{ours / 1e6:.2f} M/s vs {reference / 1e6:.2f} M/s (medians); "
                f"{compared.text()}; {large['done']:.0%} of the items read within the time limit",
                compared.median >= 0.9 and large["done"] == 1.0,
            ),
            TargetCheck(
                f"ProcessPoolExecutor.map({variant}): parent's peak RSS at 2M within 10 MB of 0.5M",
                f"{small['peak_rss_mb']:.1f} MB -> {large['peak_rss_mb']:.1f} MB "
                f"({large['peak_rss_mb'] - small['peak_rss_mb']:+.1f} MB)",
                abs(large["peak_rss_mb"] - small["peak_rss_mb"]) <= 10 and large["done"] == 1.0,
            ),
        ]
    return checks


def _rows() -> tuple[Row, ...]:
    rows = []
    for size in SIZES:
        reference = f"{REFERENCE} {size}"
        rows.append(Row(reference, pool_imap(size), compare_with=reference))
        rows += [
            Row(_executor_label(variant, size), make(size), compare_with=reference)
            for variant, make in VARIANTS.items()
        ]
        rows.append(
            Row(
                _threads_label(size),
                thread_executor_map(size, buffersize=8),
                "threads: the GIL runs one x * x at a time; shown for correctness and cost",
                compare_with=reference,
            )
        )
    return tuple(rows)


WORKLOAD = Workload(
    name="executor_buffersize",
    title="Executor.map over a generator of 0.5 M and 2 M integers with buffersize: "
    "throughput and the parent's peak memory",
    description=__doc__ or "",
    rows=_rows(),
    reference=f"{REFERENCE} 2M",
    prepare=prepare,
    check=check,
    extra_columns=(
        ("items_per_second", "M items/s", "{:.3g}"),
        ("done", "done", "{:.0%}"),
        ("peak_rss_mb", "peak RSS (MB)", "{:.1f}"),
        ("growth_mb", "growth (MB)", "{:.1f}"),
    ),
)
