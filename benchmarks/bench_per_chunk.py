"""What the parent spends per chunk: its CPU during a map of long tasks, and one-item chunks.

On a machine whose cores the workers keep busy, every wake-up of the parent's threads takes a
core from a worker, so the parent's CPU per chunk is lost work (issue 10: 64 tasks of ~25 ms).
Measured side by side with ``multiprocessing.Pool`` (its default start method), 2 workers, each
round a fresh interpreter per row, rows interleaved round by round:

* *parent CPU per map*: ``time.process_time()`` of the parent (all its threads) around one
  ``map`` of 64 tasks of ~25 ms (a calibrated pure-Python loop), the median over 5 maps, after a
  warm-up with another function;
* *efficiency*: the same 64 tasks run one after another in the parent right after each map
  (16 of them, times 4), over 2 x the map's time; the median over the maps;
* *µs per item, chunksize=1*: one ``map(noop, range(20000), chunksize=1)``, the median of 5: the
  whole round trip of a one-item chunk, parent and worker.

Besides each pool with its defaults (``multiprocessing.Pool.map`` cuts 64 tasks on 2 workers into
chunks of 8; corepool sends a task this long alone), each runs the 64 tasks with the other's
chunking too (``chunksize=8`` for corepool, ``chunksize=1`` for multiprocessing): what one
message per task costs, whoever sends it.

``--against SRC`` adds a row for another corepool source tree (``src`` of an older checkout, run
with ``PYTHONPATH=SRC``): a before/after on the same machine in the same minutes.

Run: ``python benchmarks/bench_per_chunk.py [--against OLD/src] [--rounds 5]`` (~1 min a round).
Writes benchmarks/results/issue10-per-chunk.md.  Wall times on this 2-core virtual machine move
by tens of percent within seconds; CPU per map moves far less, which is why it is the measure.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

from sidebyside.orchestrate import run_python_json

RESULTS = Path(__file__).resolve().parent / "results" / "issue10-per-chunk.md"

CHILD = textwrap.dedent(
    """
    import json, sys, time

    def burn(n):
        total = 0
        for i in range(n):
            total += i
        return total

    def noop(x):
        return x

    def calibrated(seconds=0.025):
        n = 100_000
        while True:
            started = time.perf_counter()
            burn(n)
            took = time.perf_counter() - started
            if took > 0.01:
                return int(n * seconds / took)
            n *= 2

    if __name__ == "__main__":
        if sys.argv[1] == "multiprocessing":
            import multiprocessing
            pool = multiprocessing.Pool(2)
        else:
            import corepool
            pool = corepool.Pool(2)
        chunksize = None if sys.argv[2] == "default" else int(sys.argv[2])
        pool.map(noop, range(8), chunksize=1)  # warm up, with another function than burn
        items = [calibrated()] * 64
        cpu, wall, efficiency, per_item = [], [], [], []
        for _ in range(5):
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            pool.map(burn, items, chunksize=chunksize)
            cpu.append(time.process_time() - cpu_before)
            wall.append(time.perf_counter() - wall_before)
            serial_before = time.perf_counter()
            for item in items[:16]:
                burn(item)
            serial = (time.perf_counter() - serial_before) * 4
            efficiency.append(serial / (2 * wall[-1]))
        for _ in range(5):
            started = time.perf_counter()
            pool.map(noop, range(20_000), chunksize=1)
            per_item.append((time.perf_counter() - started) / 20_000)
        pool.close()
        pool.join()
        print(json.dumps(
            {"cpu": cpu, "wall": wall, "efficiency": efficiency, "per_item": per_item}
        ))
    """
)


def run_row(kind: str, chunksize: str, source: str | None) -> dict[str, list[float]]:
    sources = () if source is None else (source,)
    arguments = ["-c", CHILD, kind, chunksize]
    measured: dict[str, list[float]] = run_python_json(arguments, 600, *sources)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", help="another corepool source tree (its src directory)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows: dict[str, tuple[str, str, str | None]] = {
        "corepool.Pool": ("corepool", "default", None),
        "corepool.Pool (chunksize=8)": ("corepool", "8", None),
    }
    if args.against:
        rows[f"corepool.Pool at {_commit(args.against)}"] = ("corepool", "default", args.against)
    rows["multiprocessing.Pool"] = ("multiprocessing", "default", None)
    rows["multiprocessing.Pool (chunksize=1)"] = ("multiprocessing", "1", None)
    found: dict[str, dict[str, list[float]]] = {label: {} for label in rows}
    for round_ in range(args.rounds):
        for label, (kind, chunksize, source) in rows.items():
            for key, values in run_row(kind, chunksize, source).items():
                found[label].setdefault(key, []).extend(values)
            print(f"round {round_ + 1}/{args.rounds}: {label}", file=sys.stderr)
    report = render(found, args.rounds)
    print(report)
    if not args.no_write:
        RESULTS.write_text(report)
        print(f"wrote {RESULTS}", file=sys.stderr)


def _commit(source: str) -> str:
    """The commit a source tree was checked out at (short), or its path."""
    done = subprocess.run(
        ["git", "-C", source, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or source


def render(found: dict[str, dict[str, list[float]]], rounds: int) -> str:
    ours = found["corepool.Pool"]
    lines = [
        "# What the parent spends per chunk (issue 10)",
        "",
        f"corepool.Pool: this checkout, {_commit(str(Path(__file__).resolve().parent))}.",
        "",
        f"Written by `benchmarks/bench_per_chunk.py`: 2 workers, {rounds} rounds of a fresh",
        "interpreter per row, rows interleaved. CPU and wall per map: medians over every map of",
        "64 tasks of ~25 ms (5 a round), with the row's chunksize; efficiency: the serial time",
        "of those tasks measured right after each map over 2 x the map's, the median; µs per",
        "item: medians over every `map(noop, range(20000), chunksize=1)` (5 a round).",
        "*x corepool*: the row's median over corepool.Pool's (above 1, corepool spends less).",
        "",
        "| row | parent CPU per map (ms) | min | max | x corepool | map wall (s) | efficiency "
        "| µs per item, chunksize=1 | min | max | x corepool |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, values in found.items():
        cpu = [value * 1e3 for value in values["cpu"]]
        per_item = [value * 1e6 for value in values["per_item"]]
        cpu_ratio = statistics.median(cpu) / statistics.median(ours["cpu"]) / 1e3
        item_ratio = statistics.median(per_item) / statistics.median(ours["per_item"]) / 1e6
        lines.append(
            f"| {label} | {statistics.median(cpu):.1f} | {min(cpu):.1f} | {max(cpu):.1f} "
            f"| {cpu_ratio:.2f}x | {statistics.median(values['wall']):.3f} "
            f"| {statistics.median(values['efficiency']):.3f} "
            f"| {statistics.median(per_item):.1f} | {min(per_item):.1f} | {max(per_item):.1f} "
            f"| {item_ratio:.2f}x |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
