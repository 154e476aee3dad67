"""How fast Ctrl-C reaches the main thread, and how fast the workers are gone, side by side.

A child program starts a pool and waits in ``map`` on long tasks; this script sends it SIGINT and
measures (CLOCK_MONOTONIC is shared by all processes on Linux):

* interrupt latency: SIGINT sent -> ``KeyboardInterrupt`` caught in the child's main thread;
* cleanup: SIGINT sent -> every worker process gone (leaving the ``with`` block).

Run: ``python benchmarks/bench_signals.py`` (about 20 s).  Writes benchmarks/results/signals.md.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

CHILD = textwrap.dedent(
    """
    import sys, time
    kind = sys.argv[1]

    def slow(x):
        time.sleep(60)

    if __name__ == "__main__":
        if kind == "corepool":
            import corepool
            pool = corepool.Pool(2)
            pids = [w.pid for w in pool.statistics().workers]
        else:
            import multiprocessing
            pool = multiprocessing.get_context("forkserver").Pool(2)
            pids = [p.pid for p in pool._pool]
        try:
            with pool:
                print("PIDS", *pids, flush=True)
                pool.map(slow, range(4), chunksize=1)
        except KeyboardInterrupt:
            print("CAUGHT", time.monotonic(), flush=True)
    """
)
REPEAT = 5


def one_run(kind: str, script: Path) -> tuple[float, float]:
    child = subprocess.Popen(
        [sys.executable, str(script), kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    pids = [int(p) for p in child.stdout.readline().split()[1:]]
    time.sleep(0.5)  # let the parent enter its wait: the situation being measured
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    caught = None
    for line in child.stdout:
        if line.startswith("CAUGHT"):
            caught = float(line.split()[1])
    child.wait(60)
    while any(_alive(pid) for pid in pids):
        time.sleep(0.001)
    gone = time.monotonic()
    return (caught - sent) if caught else float("nan"), gone - sent


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def main() -> None:
    script = Path(__file__).resolve().parent / "results" / "_signals_child.py"
    script.write_text(CHILD)
    try:
        rows: dict[str, list[tuple[float, float]]] = {"corepool": [], "multiprocessing": []}
        for _ in range(REPEAT):
            for kind, runs in rows.items():
                runs.append(one_run(kind, script))
    finally:
        script.unlink()
    lines = [
        "# Ctrl-C while the parent waits in map (2 workers, tasks sleeping 60 s)",
        "",
        f"Command: `python benchmarks/bench_signals.py` ({REPEAT} runs each, interleaved).",
        "",
        "| pool | interrupt latency median (ms) | max (ms) | workers gone median (ms) | max (ms) |",
        "|---|---|---|---|---|",
    ]
    for kind, runs in rows.items():
        latency = [r[0] * 1e3 for r in runs]
        cleanup = [r[1] * 1e3 for r in runs]
        lines.append(
            f"| {kind} | {statistics.median(latency):.1f} | {max(latency):.1f} "
            f"| {statistics.median(cleanup):.0f} | {max(cleanup):.0f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(__file__).resolve().parent / "results" / "signals.md").write_text(text)


if __name__ == "__main__":
    main()
