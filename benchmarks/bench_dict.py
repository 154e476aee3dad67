"""corepool.Dict against multiprocessing.Manager().dict(), used from other processes.

Two settings: one child process using a dict that another process (this one) owns, and two
child processes using it at the same time (started together behind a barrier).  The time is per
operation in each child, the slower of the two.  Workloads:

    get                small value, key present
    set                small value, existing key
    locked increment   corepool: d.increment(k)       Manager: with lock: d[k] = d[k] + 1
                       (the Manager dict is guarded by a Manager lock, as its docs advise)
    transaction incr.  corepool: with d.transaction(): d[k] += 1   (the lock-style spelling)

Rounds interleave the contenders so both see the same noise.  Run:

    python benchmarks/bench_dict.py [--rounds 7] [--out benchmarks/results/dict.md]
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import statistics
import sys
import time
from typing import Any

import corepool

# Operations per process per round: ~0.1-0.3 s each on a 2-core machine.
OPS = {"corepool": 20_000, "manager": 2_000}
WORKLOADS = ["get", "set", "locked increment", "transaction increment"]


def _run_ops(kind: str, workload: str, shared: Any, lock: Any, count: int) -> None:
    key = "counter" if "increment" in workload else "key"
    if workload == "get":
        for _ in range(count):
            shared[key]
    elif workload == "set":
        for index in range(count):
            shared[key] = index
    elif kind == "corepool" and workload == "locked increment":
        for _ in range(count):
            shared.increment(key)
    elif kind == "corepool":
        for _ in range(count):
            with shared.transaction():
                shared[key] += 1
    else:
        for _ in range(count):
            with lock:
                shared[key] = shared[key] + 1


def _worker(kind: str, workload: str, shared: Any, lock: Any, barrier: Any, out: Any) -> None:
    count = OPS[kind]
    _run_ops(kind, workload, shared, lock, 50)  # warm up the connection / the mapping
    barrier.wait()
    started = time.perf_counter()
    _run_ops(kind, workload, shared, lock, count)
    out.put((time.perf_counter() - started) / count * 1e6)


def _measure(
    context: Any, kind: str, workload: str, shared: Any, lock: Any, children: int
) -> float:
    """Microseconds per operation, in the slower of the children."""
    shared["key"], shared["counter"] = 0, 0
    barrier, out = context.Barrier(children), context.Queue()
    processes = [
        context.Process(target=_worker, args=(kind, workload, shared, lock, barrier, out))
        for _ in range(children)
    ]
    for process in processes:
        process.start()
    times = [out.get(timeout=300) for _ in processes]
    for process in processes:
        process.join()
    if "increment" in workload:
        expected = children * (OPS[kind] + 50)
        assert shared["counter"] == expected, (kind, workload, shared["counter"], expected)
    return max(times)


Results = dict[tuple[int, str, str], list[float]]
"""(children, contender, workload) -> µs per operation, one per round."""


def run(rounds: int) -> Results:
    context = multiprocessing.get_context("forkserver")
    manager = context.Manager()
    results: Results = {}
    with corepool.Dict() as shared:
        managed, managed_lock = manager.dict(), manager.Lock()
        for round_ in range(rounds):
            for children in (1, 2):
                for workload in WORKLOADS:
                    for kind in ("corepool", "manager"):
                        if kind == "manager" and workload == "transaction increment":
                            continue
                        target = shared if kind == "corepool" else managed
                        micros = _measure(context, kind, workload, target, managed_lock, children)
                        results.setdefault((children, kind, workload), []).append(micros)
            print(f"round {round_ + 1}/{rounds} done", file=sys.stderr)
    manager.shutdown()
    return results


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(results: Results, rounds: int) -> str:
    lines = [
        "# corepool.Dict vs multiprocessing.Manager().dict(), from other processes",
        "",
        f"Python {platform.python_version()}, {multiprocessing.cpu_count()} cores, "
        f"{rounds} rounds; µs per operation in each child process (median, min-max); "
        "speed-up = Manager time / corepool time, per round. The dict is owned by the parent.",
        f"Command: `python benchmarks/bench_dict.py --rounds {rounds}`",
    ]
    for children, title in (
        (1, "One child process using the dict"),
        (2, "Two child processes using the dict at the same time"),
    ):
        lines += [
            "",
            f"## {title}",
            "",
            "| workload | corepool.Dict µs/op | Manager µs/op | speed-up |",
            "|---|---|---|---|",
        ]
        for workload in WORKLOADS:
            ours = results[(children, "corepool", workload)]
            baseline = "locked increment" if "increment" in workload else workload
            theirs = results[(children, "manager", baseline)]
            ratios = [their / our for our, their in zip(ours, theirs, strict=True)]
            lines.append(
                f"| {_LABELS.get(workload, workload)} | {_summary(ours)} | {_summary(theirs)} | "
                f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}) |"
            )
    return "\n".join(lines) + "\n"


_LABELS = {
    "locked increment": "locked increment (`d.increment(k)` vs Manager lock + dict)",
    "transaction increment": (
        "transaction increment (`with d.transaction(): d[k] += 1` vs Manager lock + dict)"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/results/dict.md")
    arguments = parser.parse_args()
    text = report(run(arguments.rounds), arguments.rounds)
    with open(arguments.out, "w") as out:
        out.write(text)
    print(text)


if __name__ == "__main__":
    main()
