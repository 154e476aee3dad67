"""The long-task workloads of issue 10, every pool warm in one process, compared round by round.

``run.py`` times each row in a fresh interpreter, one after another.  On this 2-core virtual
machine one row's times spread by 10-40 % from run to run, more than the gaps between pools that
all reach the same bound (the tutorial's ``is_prime`` map is as long as its longer prime, whoever
schedules it), and its check (corepool's median no higher than the lowest of six other medians)
then fails about six times in seven for pools of equal speed.  This benchmark asks the question
with less noise:

* a *session* is a fresh interpreter that starts every pool once and warms it up
  (``sidebyside.pools``), corepool's first (while the process has one thread, as in ``run.py``);
* each round runs every row's ``map`` once, in an order rotated round by round and session by
  session: no row always runs first, or right after the same neighbour, and no row always has a
  session's first map, right after a dozen pools started.  (When every session began the
  rotation anew, corepool's row, first in each, ran the primes ~13 % slower than every other
  row in one run, its later rounds too, and on a par with them in the run before.)
* a row's *paired ratio* is the median, over all rounds of all sessions, of its time divided by
  corepool's in the same round, with a distribution-free 95 % interval for that median (the sign
  test's order statistics).  Above 1.00x corepool was faster; an interval that holds 1.00x is a
  tie.

Why several sessions rather than many rounds in one, and why each task reports its own time: a
worker process's speed at a pure-Python loop differs from process to process on this machine,
and stays so for the process's life.  Timing ``is_prime`` 4 times in each of 6 freshly spawned
processes gave medians from 0.715 to 0.801 s, each process within ~3 % of its own; two pools
forked one after the other from the same process ran its longer prime in 0.758 and 0.840 s (the
median of 4), and the other way round in the next run.  With every pool started once, a row whose
workers drew fast processes stays fast in every round of the session: loky's workers ran the
primes ~8 % faster than every other pool's over 15 rounds of one process, and 2 % slower in
``run.py``.  Fresh sessions draw again, and the time a map takes beyond its tasks' own time is
what the pool itself adds.

Workloads: ``primes`` and ``fib`` as in ``run.py`` (``sidebyside/workloads``), and ``cpu`` (64
pure-Python tasks of ~25 ms, the efficiency workload).  Their functions report how long each task
ran where it ran, so that what a pool adds can be told from how fast its processes compute: for
``primes``, the map's time beyond its longest task; for the others, how busy the workers were.

``cpu`` has two more rows, for its parallel efficiency (the serial loop's time over 2 x the row's,
taken round by round as the ratios are): the *serial loop* itself, in the session's process, and
the machine's *ceiling*: 2 plain processes, started once per session as the pools are, each sent
half the tasks in one message and answering with all their results in one (no pool, no message
per task).  ``run.py`` takes the same efficiency from rows in separate interpreters, minutes
apart; here every row of a round runs within seconds of its serial loop.

Run: ``python benchmarks/bench_uneven_paired.py [--sessions 5] [--rounds 4]`` (~8 min).  Writes
``benchmarks/results/uneven_paired.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import machine
from sidebyside import pools, uneven
from sidebyside.machine import ForeignLoad, cores_between
from sidebyside.orchestrate import rotated
from sidebyside.tasks import (
    FIB_SCALE,
    PRIMES,
    burn_timed,
    fib,
    fib_job_timed,
    is_prime_timed,
)
from sidebyside.workloads.cpu import calibrate_loops
from sidebyside.workloads.fib import JOBS
from sidebyside.workloads.primes import EXPECTED as PRIMES_EXPECTED

RESULTS = Path(__file__).resolve().parent / "results" / "uneven_paired.md"
WORKERS = 2
REFERENCE = "corepool.Pool"
CPU_TASKS = 64
SESSION_STRIDE = 7
"""Places in the rotation between two sessions' first rounds: prime to the 8 and 10 rows, so that
each of 5 sessions begins with another row (a stride of ``--rounds``, 4, took turns between two)."""

MapCall = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]


def _list_map(pool: Any, **options: Any) -> MapCall:
    return lambda fn, items: list(pool.map(fn, items, **options))


@contextlib.contextmanager
def _all_pools() -> Iterator[dict[str, MapCall]]:
    """Every row's warm pool, as a ``map`` call; all shut down on exit.

    corepool's first, while this process has one thread: as in ``run.py``, where each row has
    a fresh interpreter, corepool then forks its workers from its zygote (``_lifecycle.zygote``),
    which it does not where other threads run (the peers' pools start threads)."""
    with contextlib.ExitStack() as stack:
        enter = stack.enter_context
        maps: dict[str, MapCall] = {
            REFERENCE: _list_map(enter(pools.corepool_pool(WORKERS))),
            "corepool.Pool (chunksize=1)": _list_map(
                enter(pools.corepool_pool(WORKERS)), chunksize=1
            ),
            "corepool.ProcessPoolExecutor": _list_map(enter(pools.corepool_executor(WORKERS))),
            "multiprocessing.Pool": _list_map(enter(pools.mp_pool(WORKERS))),
            "concurrent.futures.ProcessPoolExecutor": _list_map(
                enter(pools.futures_executor(WORKERS))
            ),
        }
        pebble = enter(pools.pebble_pool(WORKERS))
        joblib = enter(pools.joblib_parallel(WORKERS))
        maps["pebble.ProcessPool"] = lambda fn, items: list(pebble.map(fn, items).result())
        maps["mpire"] = _list_map(enter(pools.mpire_pool(WORKERS)))
        maps["joblib (loky)"] = lambda fn, items: list(joblib(pools.delayed_calls(fn, items)))
        yield maps


class Workload:
    """A ``map`` whose function returns (value, seconds it ran where it ran), so that what a
    pool adds to its tasks can be told from how fast its processes ran them."""

    measure_title, measure_digits = "workers busy", 3

    def __init__(
        self,
        name: str,
        title: str,
        fn: Callable[[Any], tuple[Any, float]],
        items: Sequence[Any],
        expected: list[int] | None,
    ) -> None:
        self.name, self.title, self.fn, self.items = name, title, fn, items
        self.expected = expected
        """The digest every row must return; None: the first row's (then the same for all)."""

    def check(self, label: str, results: list[tuple[Any, float]]) -> None:
        digest = uneven.digest([value for value, _ in results])
        if self.expected is None:
            self.expected = digest
        elif digest != self.expected:
            raise AssertionError(f"{self.name}: {label} returned other results")

    def measure(self, wall: float, task_seconds: list[float]) -> float:
        """*workers busy*: the tasks' time over workers x wall time (1.0: never idle)."""
        return sum(task_seconds) / (WORKERS * wall)

    def extra_rows(self, bare: BareProcesses) -> dict[str, MapCall]:
        """Rows besides the pools'; none but ``cpu``'s."""
        return {}


class LongestTaskWorkload(Workload):
    measure_title, measure_digits = "beyond the longest task (ms)", 1

    def measure(self, wall: float, task_seconds: list[float]) -> float:
        """Milliseconds the map took beyond its longest task: all that a pool adds."""
        return 1000 * (wall - max(task_seconds))


class EfficiencyWorkload(Workload):
    """``cpu``: its rows also run the serial loop and the machine's ceiling (``BareProcesses``),
    and its table adds each row's parallel efficiency."""

    def extra_rows(self, bare: BareProcesses) -> dict[str, MapCall]:
        return {SERIAL: lambda fn, items: [fn(item) for item in items], CEILING: bare.map}


SERIAL = "serial loop"
CEILING = "ceiling: 2 bare processes"


class BareProcesses:
    """What the machine allows: ``WORKERS`` plain processes, each sent its share of the items in
    one message and answering with all their results in one; no pool, no message per task.

    Spawned, not forked: the session's process runs the pools' threads by then.  Each says when it
    is ready, so that their start (an interpreter and this module's imports, ~0.2 s of CPU) is over
    before the first round: it slowed the first map of every session."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._connections: list[Any] = []
        self._processes: list[Any] = []
        for index in range(workers):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_bare_worker, args=(theirs,), name=f"bare-{index}", daemon=True
            )
            process.start()
            theirs.close()
            self._connections.append(ours)
            self._processes.append(process)
        for connection in self._connections:
            connection.recv()  # ready

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        count = len(self._connections)
        for index, connection in enumerate(self._connections):
            connection.send((fn, list(items[index::count])))
        shares = [connection.recv() for connection in self._connections]
        results: list[Any] = [None] * len(items)
        for index, share in enumerate(shares):
            results[index::count] = share
        return results

    def close(self) -> None:
        for connection in self._connections:
            connection.send(None)
            connection.close()
        for process in self._processes:
            process.join(30)


def _bare_worker(connection: Any) -> None:
    connection.send(None)  # ready
    while (work := connection.recv()) is not None:
        fn, items = work
        connection.send([fn(item) for item in items])


def run_rounds(
    workload: Workload, maps: dict[str, MapCall], rounds: int, first_round: int = 0
) -> dict[str, dict[str, list[float]]]:
    """Each row's wall times and measures, round by round; ``first_round`` numbers the first
    (the rows' order rotates with the number)."""
    labels = list(maps)
    rows: dict[str, dict[str, list[float]]] = {
        label: {"times": [], "measures": []} for label in labels
    }
    for round_index in range(first_round, first_round + rounds):
        for label in rotated(labels, round_index):
            started = time.perf_counter()
            results = maps[label](workload.fn, workload.items)
            seconds = time.perf_counter() - started
            workload.check(label, results)
            rows[label]["times"].append(seconds)
            rows[label]["measures"].append(workload.measure(seconds, [took for _, took in results]))
    return rows


def median_interval(values: Sequence[float]) -> tuple[float, float]:
    """A distribution-free 95 % interval for the median: the sign test's order statistics
    (with fewer than 6 values there is none that narrow: the whole range)."""
    ordered, n = sorted(values), len(values)
    k = 0  # becomes the smallest k with P(Binomial(n, 1/2) <= k) > 2.5 %
    below = 1 / 2**n
    while below <= 0.025:
        k += 1
        below += math.comb(n, k) / 2**n
    if k == 0:
        return ordered[0], ordered[-1]
    return ordered[k - 1], ordered[n - k]  # the k-th value from each end


def table(workload: Workload, rows: dict[str, dict[str, list[float]]]) -> list[str]:
    ours = rows[REFERENCE]["times"]
    serial = rows[SERIAL]["times"] if SERIAL in rows else None
    digits = workload.measure_digits
    header = (
        "| row | median (s) | min (s) | paired ratio (row / corepool) | 95 % interval "
        f"| {workload.measure_title} |"
    )
    if serial is not None:
        header += " efficiency | 95 % interval |"
    lines = [header, "|---" * header.count(" |") + "|"]
    for label, row in rows.items():
        values = row["times"]
        ratios = [value / reference for value, reference in zip(values, ours, strict=True)]
        low, high = median_interval(ratios)
        line = (
            f"| {label} | {statistics.median(values):.3f} | {min(values):.3f} | "
            f"{statistics.median(ratios):.3f}x | {low:.3f}-{high:.3f} | "
            f"{statistics.median(row['measures']):.{digits}f} |"
        )
        if serial is not None:
            efficiency = [
                alone / (WORKERS * value) for alone, value in zip(serial, values, strict=True)
            ]
            low, high = median_interval(efficiency)
            line += f" {statistics.median(efficiency):.3f} | {low:.3f}-{high:.3f} |"
        lines.append(line)
    return lines


def _workloads(loops: int) -> list[Workload]:
    return [
        LongestTaskWorkload(
            "primes",
            "the tutorial's is_prime map (6 ints, 2 primes)",
            is_prime_timed,
            PRIMES,
            uneven.digest(PRIMES_EXPECTED),
        ),
        Workload(
            "fib",
            "the tutorial's fib jobs (16 uneven tasks)",
            fib_job_timed,
            JOBS,
            uneven.digest([fib(n * FIB_SCALE) for n in JOBS]),
        ),
        EfficiencyWorkload("cpu", "64 tasks of ~25 ms", burn_timed, [loops] * CPU_TASKS, None),
    ]


def run_session(loops: int, rounds: int, session: int) -> dict[str, Any]:
    """One fresh interpreter's share: every pool started once, ``rounds`` rounds per workload."""
    with _all_pools() as maps, contextlib.closing(BareProcesses(WORKERS)) as bare:
        sessions = {}
        for workload in _workloads(loops):
            rows = {**maps, **workload.extra_rows(bare)}
            sessions[workload.name] = run_rounds(workload, rows, rounds, session * SESSION_STRIDE)
        return sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5, help="fresh interpreters, one by one")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per session and workload")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--session-loops", type=int, help=argparse.SUPPRESS)  # one session
    parser.add_argument("--session-index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.session_loops is not None:
        print(json.dumps(run_session(args.session_loops, args.rounds, args.session_index)))
        return
    loops = calibrate_loops()
    started = time.perf_counter()
    merged: dict[str, dict[str, dict[str, list[float]]]] = {}
    with ForeignLoad() as foreign:
        first_reading = foreign.reading()
        for index in range(args.sessions):
            print(f"session {index + 1}/{args.sessions}", file=sys.stderr)
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--session-loops",
                    str(loops),
                    "--session-index",
                    str(index),
                    "--rounds",
                    str(args.rounds),
                ],
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            )
            for name, rows in json.loads(done.stdout).items():
                for label, row in rows.items():
                    into = merged.setdefault(name, {}).setdefault(label, {})
                    for key, values in row.items():
                        into.setdefault(key, []).extend(values)
        others = cores_between(first_reading, foreign.reading())
    took = time.perf_counter() - started
    sections: list[str] = []
    for workload in _workloads(loops):
        sections += [f"## {workload.name}: {workload.title}", ""]
        sections += [*table(workload, merged[workload.name]), ""]
    pairs = args.sessions * args.rounds
    text = "\n".join(
        [
            "# Long tasks, every pool warm in one process, paired round by round",
            "",
            f"`python benchmarks/bench_uneven_paired.py --sessions {args.sessions} "
            f"--rounds {args.rounds}` — "
            f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}, took {took:.0f} s. "
            f"Python {platform.python_version()}, {WORKERS} workers; {machine()}; other "
            f"processes used {others:.2f} cores on average.",
            "",
            f"{args.sessions} sessions (fresh interpreters, one after another), each starting "
            f"every pool once and running {args.rounds} rounds per workload; a round runs every "
            "row once, in an order rotated round by round and session by session. *paired "
            "ratio*: the median over the "
            f"{pairs} rounds of the row's time over corepool.Pool's in the same round (above "
            "1.00x corepool was faster), with a distribution-free 95 % interval for that median; "
            "an interval that holds 1.00x is a tie. Each task also reports how long it ran where "
            "it ran: *beyond the longest task* is the map's time less its longest task's (what "
            "the pool added: scheduling, round trips), *workers busy* the tasks' time over "
            f"{WORKERS} x the map's (1.000: no worker ever idle); both the median over the "
            "rounds. They tell the pool from the speed of its processes, which differs from "
            "process to process (see the module's docstring). *efficiency* (cpu): the serial "
            f"loop's time over {WORKERS} x the row's in the same round, the median over the "
            "rounds with its 95 % interval; the *ceiling* row is what the machine allows.",
            "",
            *sections,
        ]
    )
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
