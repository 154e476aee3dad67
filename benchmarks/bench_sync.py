"""corepool's locks and queues side by side with multiprocessing's and a Manager's.

    python benchmarks/bench_sync.py [--quick]

Every contender runs in this one process tree, interleaved round by round (so machine noise
hits all of them alike), ``ROUNDS`` times; the table shows the median with min and max, and the
ratio of medians.  Results also go to benchmarks/results/sync.md.

* lock: uncontended acquire + release in one process (explicit calls and ``with``); corepool's
  locks are measured on both native backends: the C extension in this process (when built) and
  the ctypes fallback in a child process started with ``COREPOOL_SYNC_NATIVE=ctypes``, each round;
* semaphore, event: uncontended ``acquire`` + ``release`` (explicit and ``with``; plain and
  bounded), ``set`` + ``clear``; with the C extension built, each is one C call that does the
  monitor's journaled update itself (``_robust.SemaphoreCore``, ``EventCore``);
* queue: small items (ints) from a producer process to this process, put + get throughput;
* priority queue: ``(priority, i)`` tuples, producer process to this process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import statistics
import subprocess
import sys
import time
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

import corepool
from corepool.sync import _native

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


def event_set_clear(event: Any, count: int) -> float:
    set_, clear = event.set, event.clear
    started = time.perf_counter()
    for _ in range(count):
        set_()
        clear()
    return (time.perf_counter() - started) / count


def corepool_primitives(count: int) -> dict[str, float]:
    """corepool's rows on this process's native backend: {row name: seconds}."""
    return {
        "lock acquire+release": lock_explicit(corepool.Lock(), count),
        "lock `with`": lock_with(corepool.Lock(), count),
        "rlock acquire+release": lock_explicit(corepool.RLock(), count),
        "semaphore acquire+release": lock_explicit(corepool.Semaphore(), count // 4),
        "semaphore `with`": lock_with(corepool.Semaphore(), count // 4),
        "bounded semaphore acquire+release": lock_explicit(corepool.BoundedSemaphore(), count // 4),
        "event set+clear": event_set_clear(corepool.Event(), count // 4),
    }


def corepool_primitives_on_ctypes(count: int) -> dict[str, float]:
    """The same rows measured in a child process on the ctypes fallback."""
    child = subprocess.run(
        [sys.executable, __file__, "--primitives-only", str(count)],
        env={**os.environ, _native.ENVIRONMENT_VARIABLE: "ctypes"},
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(child.stdout)
    return measured


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


CONTENDER_NAMES = {
    "lock acquire+release": "corepool.Lock",
    "lock `with`": "corepool.Lock",
    "rlock acquire+release": "corepool.RLock",
    "semaphore acquire+release": "corepool.Semaphore",
    "semaphore `with`": "corepool.Semaphore",
    "bounded semaphore acquire+release": "corepool.BoundedSemaphore",
    "event set+clear": "corepool.Event",
}


def add_corepool(rows: dict[str, Row], lock_count: int) -> None:
    """corepool's rows, first on this process's backend, then (if that is C) on ctypes."""
    backends = [(_native.BACKEND, corepool_primitives)]
    if _native.BACKEND == "c":
        backends.append(("ctypes", corepool_primitives_on_ctypes))
    for backend, measure in backends:
        for row_name, seconds in measure(lock_count).items():
            rows[row_name].add(f"{CONTENDER_NAMES[row_name]} ({backend})", seconds)


def add_peers(rows: dict[str, Row], lock_count: int, manager_count: int, manager: Any) -> None:
    explicit, with_rows = rows["lock acquire+release"], rows["lock `with`"]
    explicit.add("multiprocessing.Lock", lock_explicit(CONTEXT.Lock(), lock_count))
    with_rows.add("multiprocessing.Lock", lock_with(CONTEXT.Lock(), lock_count))
    manager_lock = manager.Lock()
    explicit.add("Manager().Lock()", lock_explicit(manager_lock, manager_count))
    with_rows.add("Manager().Lock()", lock_with(manager_lock, manager_count))
    rows["rlock acquire+release"].add(
        "multiprocessing.RLock", lock_explicit(CONTEXT.RLock(), lock_count)
    )
    rows["semaphore acquire+release"].add(
        "multiprocessing.Semaphore", lock_explicit(CONTEXT.Semaphore(), lock_count // 4)
    )
    rows["semaphore `with`"].add(
        "multiprocessing.Semaphore", lock_with(CONTEXT.Semaphore(), lock_count // 4)
    )
    rows["bounded semaphore acquire+release"].add(
        "multiprocessing.BoundedSemaphore",
        lock_explicit(CONTEXT.BoundedSemaphore(), lock_count // 4),
    )
    rows["event set+clear"].add(
        "multiprocessing.Event", event_set_clear(CONTEXT.Event(), lock_count // 4)
    )


def add_queues(
    rows: dict[str, Row], queue_count: int, manager_count: int, priority_manager: Any
) -> None:
    fifo, priority = rows["queue put+get, 2 processes"], rows["priority queue put+get"]
    fifo.add("corepool.Queue", queue_throughput(corepool.Queue(), queue_count, False))
    fifo.add("multiprocessing.Queue", queue_throughput(CONTEXT.Queue(), queue_count, False))
    priority.add(
        "corepool.PriorityQueue", queue_throughput(corepool.PriorityQueue(), queue_count, True)
    )
    priority.add(
        "Manager PriorityQueue",
        queue_throughput(priority_manager.PriorityQueue(), manager_count, True),
    )


def run(rounds: int, lock_count: int, queue_count: int, manager_count: int) -> list[Row]:
    names = [*CONTENDER_NAMES, "queue put+get, 2 processes", "priority queue put+get"]
    rows = {name: Row(name) for name in names}
    manager = CONTEXT.Manager()
    priority_manager = PriorityManager(ctx=CONTEXT)
    priority_manager.start()
    try:
        for round_number in range(rounds):
            add_corepool(rows, lock_count)
            add_peers(rows, lock_count, manager_count, manager)
            add_queues(rows, queue_count, manager_count, priority_manager)
            print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    finally:
        priority_manager.shutdown()
        manager.shutdown()
    return list(rows.values())


def report(rows: list[Row], command: str) -> str:
    lines = [
        "# corepool.sync benchmarks",
        "",
        f"`{command}` on Python {sys.version.split()[0]}, {multiprocessing.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} when it finished.",
        "Time per operation (µs): median, min and max over the rounds; the ratio is the",
        "contender's median over the first row's (corepool's): above 1x, corepool is faster.",
        "corepool rows say which native backend they ran on: `(c)`, the `_robust` extension",
        "(this process), `(ctypes)`, the fallback (a child with `COREPOOL_SYNC_NATIVE=ctypes`).",
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
    parser.add_argument("--primitives-only", type=int, metavar="COUNT", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.primitives_only:  # the child of corepool_primitives_on_ctypes
        print(json.dumps(corepool_primitives(options.primitives_only)))
        return
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
