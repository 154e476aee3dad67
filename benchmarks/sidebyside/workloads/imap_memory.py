"""``imap`` over a generator of integers: the parent's peak memory at 0.5 M and 2 M items, and
throughput.

Each run consumes ``imap(square, integers(n))`` into a running sum (nothing is kept), on a started
pool of 2 workers, in a fresh interpreter; the parent's peak RSS (``VmHWM``) is read at the end.
A pool whose input reading is lazy has the same peak at both sizes; one that reads ahead of its
workers grows with the input.  ``multiprocessing.Pool.imap`` runs with chunksize=5000, the best
of a sweep over 200, 1000, 5000, 20000 and 100000 on this machine (3.97 M items/s at 5000, 3.38 at
1000, 3.48 at 20000); its default chunksize=1 manages ~30 k items/s and is left out.  mpire's
``imap`` over a generator is left out too: with its default chunk_size (1 when the length is
unknown) it ran 31 k items/s (65 s for 2 M), with chunk_size=5000 0.18 M items/s (11 s).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sidebyside import pools
from sidebyside.memory import current_rss_mb, peak_rss_mb
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import integers, square

WORKERS = 2
SIZES = {"0.5M": 500_000, "2M": 2_000_000}
MP_CHUNKSIZE = 5_000


def _measure(imap: Callable[[Any], Any], count: int) -> dict[str, Any]:
    before = current_rss_mb()
    seconds, total = pools.timed(lambda: sum(imap(integers(count))))
    if total != (count - 1) * count * (2 * count - 1) // 6:
        raise AssertionError("wrong sum of squares")
    peak = peak_rss_mb()
    return {
        "seconds": seconds,
        "items_per_second": count / seconds,
        "peak_rss_mb": peak,
        "growth_mb": peak - before,
    }


def corepool_imap(size: str) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.corepool_pool(WORKERS) as pool:
            return _measure(lambda items: pool.imap(square, items), SIZES[size])

    return run


def corepool_executor_map(size: str) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.corepool_executor(WORKERS) as executor:
            return _measure(lambda items: executor.map(square, items), SIZES[size])

    return run


def mp_imap(size: str) -> Callable[[Params], dict[str, Any]]:
    def run(p: Params) -> dict[str, Any]:
        with pools.mp_pool(WORKERS) as pool:
            return _measure(lambda items: pool.imap(square, items, MP_CHUNKSIZE), SIZES[size])

    return run


def prepare(quick: bool) -> dict[str, Any]:
    return {}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    small, large = stats[f"{COREPOOL} 0.5M"], stats[f"{COREPOOL} 2M"]
    peak_small, peak_large = small.extras["peak_rss_mb"], large.extras["peak_rss_mb"]
    ours = large.extras["items_per_second"]
    theirs = stats[f"{MULTIPROCESSING} 2M"].extras["items_per_second"]
    compared = paired(large, stats[f"{MULTIPROCESSING} 2M"], "items_per_second")
    return [
        TargetCheck(
            "corepool.Pool.imap: parent's peak RSS at 2M within 10 MB of 0.5M",
            f"{peak_small:.1f} MB -> {peak_large:.1f} MB ({peak_large - peak_small:+.1f} MB)",
            abs(peak_large - peak_small) <= 10,
        ),
        TargetCheck(
            f"corepool.Pool.imap throughput >= multiprocessing.Pool.imap(chunksize={MP_CHUNKSIZE})",
            f"{ours / 1e6:.2f} M/s vs {theirs / 1e6:.2f} M/s at 2M (medians); {compared.text()}",
            compared.median >= 1,
        ),
    ]


COREPOOL = "corepool.Pool.imap"
MULTIPROCESSING = f"multiprocessing.Pool.imap(chunksize={MP_CHUNKSIZE})"


def _rows() -> tuple[Row, ...]:
    rows = []
    for size in SIZES:
        ours = f"{COREPOOL} {size}"
        rows += [
            Row(ours, corepool_imap(size), compare_with=ours),
            Row(
                f"corepool.ProcessPoolExecutor.map {size}",
                corepool_executor_map(size),
                compare_with=ours,
            ),
            Row(f"{MULTIPROCESSING} {size}", mp_imap(size), compare_with=ours),
        ]
    return tuple(rows)


WORKLOAD = Workload(
    name="imap_memory",
    title="imap over a generator of 0.5 M and 2 M integers: parent's peak memory and throughput",
    description=__doc__ or "",
    rows=_rows(),
    reference=f"{COREPOOL} 2M",
    prepare=prepare,
    check=check,
    extra_columns=(
        ("items_per_second", "M items/s", "{:.2f}"),
        ("peak_rss_mb", "peak RSS (MB)", "{:.1f}"),
        ("growth_mb", "growth (MB)", "{:.1f}"),
    ),
)
