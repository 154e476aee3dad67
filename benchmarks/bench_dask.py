"""corepool on Dask, side by side with plain Dask, on one LocalCluster.

The cluster: ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` on 127.0.0.1,
no dashboard, started once and shared by every contender (each gets a warm-up call first).

Workloads:

    tiny        10,000 calls of ``abs`` (~50 ns each): what a round trip per task costs
    20 ms       200 calls of ``time.sleep(0.02)``: parallel efficiency =
                200 x 20 ms / (seconds x the cluster's 2 threads); sleeping, not computing, so
                that other programs on a shared machine do not slow the work itself
    imap 1M     ``pool.imap(abs, generator of 1,000,000 ints)``: this process's resident memory
                after 250,000 and after 1,000,000 results (the scheduler of a LocalCluster lives
                in this process too, so its bookkeeping counts)

Contenders:

    corepool            Pool(backend="dask", client=client).map(fn, items): automatic chunking
    client.map          client.gather(client.map(fn, items, pure=False)): one Dask task per item
    batched by hand     client.map over 8 batches (4 per thread) of the items, then flattened

Each timing is the median of ``--repeat`` runs (3 by default), contenders taking turns.  The
header says how many cores processes outside this benchmark used meanwhile (``sidebyside/machine``):
where that is high, read the ratios, not the digits.

Run: ``python benchmarks/bench_dask.py`` (writes benchmarks/results/dask.md).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import itertools
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import distributed
import psutil
from sidebyside.machine import ForeignLoad, cores_between

import corepool

RESULTS = Path(__file__).resolve().parent / "results" / "dask.md"
THREADS = 2
BATCHES = 4 * THREADS


def nap(_: object) -> None:
    time.sleep(0.02)


def run_batch(fn: Callable[[Any], Any], batch: list[Any]) -> list[Any]:
    return [fn(item) for item in batch]


def by_corepool(pool: corepool.Pool, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return pool.map(fn, items)


def by_client_map(client: Any, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    return list(client.gather(client.map(fn, items, pure=False)))


def by_hand(client: Any, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    size = -(-len(items) // BATCHES)
    batches = [items[start : start + size] for start in range(0, len(items), size)]
    futures = client.map(run_batch, [fn] * len(batches), batches, pure=False)
    return [value for batch in client.gather(futures) for value in batch]


def timed(call: Callable[[], list[Any]], expected: int) -> float:
    gc.collect()
    started = time.perf_counter()
    results = call()
    seconds = time.perf_counter() - started
    assert len(results) == expected
    return seconds


def imap_memory(pool: corepool.Pool, total: int) -> tuple[float, float, float]:
    """Seconds, and this process's RSS (MB) after a quarter of the items and after all."""
    process = psutil.Process()
    numbers: Iterator[int] = (-x for x in itertools.count())
    results = pool.imap(abs, itertools.islice(numbers, total))
    started = time.perf_counter()
    quarter = 0.0
    for done, _ in enumerate(results, 1):
        if done == total // 4:
            quarter = process.memory_info().rss / 1e6
    seconds = time.perf_counter() - started
    return seconds, quarter, process.memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=int, default=10_000)
    parser.add_argument("--naps", type=int, default=200)
    parser.add_argument("--imap", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with (
        ForeignLoad() as foreign,
        distributed.LocalCluster(
            n_workers=THREADS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        corepool.Pool(backend="dask", client=client) as pool,
    ):
        contenders: dict[str, Callable[[Callable[[Any], Any], list[Any]], list[Any]]] = {
            "corepool Pool(backend='dask').map": lambda fn, items: by_corepool(pool, fn, items),
            "client.map + gather": lambda fn, items: by_client_map(client, fn, items),
            f"batched by hand ({BATCHES} batches)": lambda fn, items: by_hand(client, fn, items),
        }
        for run in contenders.values():
            run(abs, list(range(100)))  # warm-up: functions known, connections open
        started = foreign.reading()
        tiny, naps = list(range(-args.tiny, 0)), list(range(args.naps))
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.repeat):  # round-robin: a noisy moment hits every contender
            for name, run in contenders.items():
                for work, fn, items in (
                    (f"{args.tiny:,} tiny tasks", abs, tiny),
                    (f"{args.naps} x 20 ms", nap, naps),
                ):
                    seconds = timed(lambda: run(fn, items), len(items))  # noqa: B023
                    times.setdefault((name, work), []).append(seconds)
                    print(name, work, f"{seconds:.3f}", flush=True)
        rows = [(name, work, statistics.median(runs)) for (name, work), runs in times.items()]
        imap = imap_memory(pool, args.imap)
        print("imap", imap, flush=True)
        others = cores_between(started, foreign.reading())
    write(rows, imap, args, others)


def write(
    rows: list[tuple[str, str, float]],
    imap: tuple[float, float, float],
    args: Any,
    others: float,
) -> None:
    corepool_times = {work: seconds for name, work, seconds in rows if name.startswith("corepool")}
    by_hand_times = {work: seconds for name, work, seconds in rows if name.startswith("batched")}
    lines = [
        "# corepool on Dask, side by side with plain Dask",
        "",
        f"Python {platform.python_version()}, Dask {importlib.metadata.version('dask')}, "
        "distributed "
        f"{distributed.__version__}, {psutil.cpu_count()} cores; processes outside this benchmark "
        f"used {others:.2f} cores on average meanwhile.  Seconds are the median of {args.repeat} "
        "runs, contenders taking turns.",
        f"One LocalCluster: {THREADS} worker processes x 1 thread on 127.0.0.1, warm.",
        "Command: `python benchmarks/bench_dask.py`",
        "",
        "| contender | workload | seconds | vs corepool | vs batched by hand | parallel"
        " efficiency |",
        "|---|---|---|---|---|---|",
    ]
    for name, work, seconds in rows:
        efficiency = ""
        if "20 ms" in work:
            efficiency = f"{args.naps * 0.02 / (seconds * THREADS):.2f}"
        lines.append(
            f"| {name} | {work} | {seconds:.3f} | {seconds / corepool_times[work]:.1f}x "
            f"| {seconds / by_hand_times[work]:.2f}x | {efficiency} |"
        )
    seconds, quarter, whole = imap
    lines += [
        "",
        f"`pool.imap(abs, generator)` of {args.imap:,} items: {seconds:.1f} s; this process's RSS "
        f"{quarter:.1f} MB after {args.imap // 4:,} results, {whole:.1f} MB after {args.imap:,} "
        f"({whole - quarter:+.1f} MB).",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
