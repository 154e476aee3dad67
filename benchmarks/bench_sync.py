"""corepool's locks and queues side by side with multiprocessing's and a Manager's.

    python benchmarks/bench_sync.py [--quick]

Every contender runs in this one process tree, interleaved round by round (so machine noise
hits all of them alike), ``ROUNDS`` times; the table shows the median with min and max, and the
ratio of medians.  Results also go to benchmarks/results/sync.md.

* lock: uncontended acquire + release in one process (explicit calls and ``with``);
* queue: small items (ints) from a producer process to this process, put + get throughput;
* priority queue: ``(priority, i)`` tuples, producer process to this process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import statistics
import sys
import time
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

import corepool

RESULTS = Path(__file__).parent / "results" / "sync.md"
CONTEXT = multiprocessing.get_context("forkserver")


class PriorityManager(SyncManager):
    """A Manager that serves ``queue.PriorityQueue`` objects (the standard library's way)."""


PriorityManager.register("PriorityQueue", queue.PriorityQueue)


# -- what is timed


def lock_explicit(lock: Any, count: int) -> float:
    acquire, release = lock.acquire, lock.release
    started = time.perf_counter()
    for _ in range(count):
        acquire()
        release()
    return (time.perf_counter() - started) / count


def lock_with(lock: Any, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        with lock:
            pass
    return (time.perf_counter() - started) / count


def produce(q: Any, count: int, go: Any, priority: bool) -> None:
    go.wait()
    if priority:
        for number in range(count):
            q.put((number % 97, number))
    else:
        for number in range(count):
            q.put(number)


def queue_throughput(q: Any, count: int, priority: bool) -> float:
    """Seconds per item, from the producer's start to the last item taken here."""
    go = CONTEXT.Event()
    producer = CONTEXT.Process(target=produce, args=(q, count, go, priority))
    producer.start()
    started = time.perf_counter()
    go.set()
    for _ in range(count):
        q.get()
    elapsed = time.perf_counter() - started
    producer.join()
    return elapsed / count


# -- the table


class Row:
    def __init__(self, name: str, unit: str = "µs") -> None:
        self.name, self.unit = name, unit
        self.samples: dict[str, list[float]] = {}

    def add(self, contender: str, seconds: float) -> None:
        self.samples.setdefault(contender, []).append(seconds * 1e6)

    def cells(self) -> list[str]:
        first = statistics.median(next(iter(self.samples.values())))
        out = []
        for contender, values in self.samples.items():
            median = statistics.median(values)
            ratio = median / first
            out.append(
                f"| {self.name} | {contender} | {median:.3f} | {min(values):.3f} | "
                f"{max(values):.3f} | {ratio:.2f}x |"
            )
        return out


def run(rounds: int, lock_count: int, queue_count: int, manager_count: int) -> list[Row]:
    explicit, with_rows = Row("lock acquire+release"), Row("lock `with`")
    rlock = Row("rlock acquire+release")
    fifo, priority = Row("queue put+get, 2 processes"), Row("priority queue put+get")
    manager = CONTEXT.Manager()
    priority_manager = PriorityManager(ctx=CONTEXT)
    priority_manager.start()
    try:
        locks: dict[str, Any] = {
            "corepool.Lock": corepool.Lock(),
            "multiprocessing.Lock": CONTEXT.Lock(),
        }
        manager_lock = manager.Lock()
        for round_number in range(rounds):
            for name, lock in locks.items():
                explicit.add(name, lock_explicit(lock, lock_count))
                with_rows.add(name, lock_with(lock, lock_count))
            explicit.add("Manager().Lock()", lock_explicit(manager_lock, manager_count))
            with_rows.add("Manager().Lock()", lock_with(manager_lock, manager_count))
            rlock.add("corepool.RLock", lock_explicit(corepool.RLock(), lock_count))
            rlock.add("multiprocessing.RLock", lock_explicit(CONTEXT.RLock(), lock_count))
            fifo.add("corepool.Queue", queue_throughput(corepool.Queue(), queue_count, False))
            fifo.add("multiprocessing.Queue", queue_throughput(CONTEXT.Queue(), queue_count, False))
            priority.add(
                "corepool.PriorityQueue",
                queue_throughput(corepool.PriorityQueue(), queue_count, True),
            )
            priority.add(
                "Manager PriorityQueue",
                queue_throughput(priority_manager.PriorityQueue(), manager_count, True),  # type: ignore[attr-defined]
            )
            print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    finally:
        priority_manager.shutdown()
        manager.shutdown()
    return [explicit, with_rows, rlock, fifo, priority]


def report(rows: list[Row], command: str) -> str:
    lines = [
        "# corepool.sync benchmarks",
        "",
        f"`{command}` on Python {sys.version.split()[0]}, {multiprocessing.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} when it finished.",
        "Time per operation (µs): median, min and max over the rounds; the ratio is the",
        "contender's median over the first row's (corepool's): above 1x, corepool is faster.",
        "",
        "| benchmark | contender | median µs | min | max | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.extend(row.cells())
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and items")
    options = parser.parse_args()
    if options.quick:
        rows = run(rounds=3, lock_count=20_000, queue_count=5_000, manager_count=300)
    else:
        rows = run(rounds=7, lock_count=200_000, queue_count=50_000, manager_count=2_000)
    command = "python benchmarks/bench_sync.py" + (" --quick" if options.quick else "")
    text = report(rows, command)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
