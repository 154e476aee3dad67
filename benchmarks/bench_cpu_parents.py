"""How fast the same loop runs in each pool's worker, from parents that import different modules.

``run.py``'s ``cpu`` workload (64 pure-Python tasks of ~25 ms on 2 workers) has read ~0.95 for
``corepool.Pool`` and ~0.99 for ``multiprocessing.Pool``, run after run, while the share of the
map's time its workers spent in tasks was the same for both (*workers busy*, 0.986).  The gap is
in *ms per task*: the same loop ran ~3 % slower in corepool's workers.  This measures that speed
alone, without a map: each pool has one worker, which times the ``cpu`` workload's loop
(``tasks.burn_median``: the median of 5 calls of ~25 ms), the pools taking turns 8 times, in a
fresh interpreter per parent and repetition.  The parents differ only in the modules they import
before making the pools, none of which the pools or the loop use.

If the pools' order changes with those imports, the ~3 % is not what the pools do (every worker
runs the same loop alone) but where the interpreter's hot data happen to lie in each worker
process: a bias of the measurement, not of the pool (Mytkowicz et al., "Producing Wrong Data
Without Doing Anything Obviously Wrong!", ASPLOS 2009).

Run: ``python benchmarks/bench_cpu_parents.py [--repeat 3]`` (~1 min).
Writes benchmarks/results/cpu_parents.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import textwrap
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from sidebyside.orchestrate import run_python_json  # noqa: E402 - needs the path above
from sidebyside.workloads import cpu  # noqa: E402

RESULTS = BENCHMARKS / "results" / "cpu_parents.md"
POOLS = ("multiprocessing.Pool", "corepool.Pool", "corepool.Pool (fork)")
PARENTS = {
    "nothing else": "",
    "json": "json",
    "inspect": "inspect",
    "statistics": "statistics",
    "decimal": "decimal",
    "asyncio": "asyncio",
    "email.message": "email.message",
    "xml.dom.minidom": "xml.dom.minidom",
    "run.py's harness (sidebyside.workloads.cpu)": "sidebyside.workloads.cpu",
}
TURNS = 8

CHILD = textwrap.dedent(
    """
    import importlib, json, sys
    for name in filter(None, sys.argv[1].split(",")):
        importlib.import_module(name)
    import multiprocessing
    import corepool
    from sidebyside.tasks import burn_median, noop

    loops, turns = int(sys.argv[2]), int(sys.argv[3])
    pools = {
        "multiprocessing.Pool": multiprocessing.Pool(1),
        "corepool.Pool": corepool.Pool(1),
        "corepool.Pool (fork)": corepool.Pool(1, context="fork"),
    }
    for pool in pools.values():
        pool.apply(noop)
    seconds = {label: [] for label in pools}
    for _ in range(turns):
        for label, pool in pools.items():
            seconds[label].append(pool.apply(burn_median, (loops, 5)))
    for pool in pools.values():
        pool.close()
        pool.join()
    print(json.dumps(seconds))
    """
)


def run_parent(modules: str, loops: int) -> dict[str, list[float]]:
    arguments = ["-c", CHILD, modules, str(loops), str(TURNS)]
    measured: dict[str, list[float]] = run_python_json(arguments, 300)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    loops = cpu.prepare(quick=False)["loops"]
    # Per parent, per pool: the median loop time of each repetition (a fresh interpreter).
    found: dict[str, dict[str, list[float]]] = {
        parent: {pool: [] for pool in POOLS} for parent in PARENTS
    }
    for repetition in range(args.repeat):
        for parent, modules in PARENTS.items():
            for pool, seconds in run_parent(modules, loops).items():
                found[parent][pool].append(statistics.median(seconds))
        print(f"repetition {repetition + 1}/{args.repeat}", file=sys.stderr)
    report = render(found, args.repeat)
    print(report)
    if not args.no_write:
        RESULTS.write_text(report)
        print(f"wrote {RESULTS}", file=sys.stderr)


def _ratio(ours: list[float], theirs: list[float]) -> str:
    """multiprocessing's loop time over ours, repetition by repetition: above 1, ours is faster."""
    ratios = sorted(b / a for a, b in zip(ours, theirs, strict=True))
    return f"{statistics.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f})"


def render(found: dict[str, dict[str, list[float]]], repeat: int) -> str:
    lines = [
        "# The same loop in each pool's worker, from parents that import different modules",
        "",
        f"Written by `benchmarks/bench_cpu_parents.py`: {repeat} repetitions, a fresh interpreter",
        "per parent and repetition, which imports the modules named, then makes",
        "multiprocessing.Pool(1), corepool.Pool(1) and corepool.Pool(1, context='fork') (in that",
        f"order) and has their workers time the `cpu` workload's ~25 ms loop in turn, {TURNS}",
        "turns of 5 calls. *ms*: the median over the repetitions of each worker's median call.",
        "*speed vs multiprocessing*: multiprocessing.Pool's worker's time over this one's in the",
        "same repetition (above 1, the loop ran faster here), the median and the lowest and",
        "highest.",
        "",
        "| parent imports | multiprocessing.Pool (ms) | corepool.Pool (ms) "
        "| speed vs multiprocessing | corepool.Pool, fork (ms) | speed vs multiprocessing |",
        "|---|---|---|---|---|---|",
    ]
    for parent, by_pool in found.items():
        theirs = by_pool["multiprocessing.Pool"]
        ours, forked = by_pool["corepool.Pool"], by_pool["corepool.Pool (fork)"]
        lines.append(
            f"| {parent} | {1e3 * statistics.median(theirs):.2f} "
            f"| {1e3 * statistics.median(ours):.2f} | {_ratio(ours, theirs)} "
            f"| {1e3 * statistics.median(forked):.2f} | {_ratio(forked, theirs)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
