"""64 pure-Python CPU-bound tasks of ~25 ms each, on 2 workers.

The loop count of ``burn`` is calibrated in the orchestrator so that one call takes ~25 ms on this
machine.  Parallel efficiency = serial time / (2 x parallel time): 1.0 means both cores did nothing
but the work.  A row's efficiency is taken round by round, against the serial loop of the same
repetition (``stats.paired``: the machine's speed moves by tens of percent between minutes), and
the median over the repetitions is shown.

Each task also reports how long it ran where it ran.  *workers busy* = the sum of those times over
(workers x wall time): near 1.0 the pool kept both workers fed and any loss of efficiency is the
machine's (tasks ran slower side by side than alone, see *ms per task*); well under 1.0 the pool
left workers idle.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

from sidebyside import pools
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import burn, burn_timed

WORKERS = 2
TASKS = 64
TASK_SECONDS = 0.025


def measure(map_call: Any, p: Params, workers: int = WORKERS) -> dict[str, Any]:
    loads = [p["loops"]] * TASKS
    seconds, results = pools.timed(lambda: list(map_call(loads)))
    if len(results) != TASKS or any(total != p["checksum"] for total, _ in results):
        raise AssertionError("wrong results")
    task_seconds = [elapsed for _, elapsed in results]
    return {
        "seconds": seconds,
        "busy": sum(task_seconds) / (workers * seconds),
        "task_ms": 1000 * sum(task_seconds) / TASKS,
    }


def serial(p: Params) -> dict[str, Any]:
    return measure(lambda loads: map(burn_timed, loads), p, workers=1)


def mp_pool(p: Params) -> dict[str, Any]:
    with pools.mp_pool(WORKERS) as pool:
        return measure(lambda loads: pool.map(burn_timed, loads), p)


def futures_process(p: Params) -> dict[str, Any]:
    with pools.futures_executor(WORKERS) as executor:
        return measure(lambda loads: executor.map(burn_timed, loads), p)


def joblib_loky(p: Params) -> dict[str, Any]:
    with pools.joblib_parallel(WORKERS) as parallel:
        return measure(lambda loads: parallel(pools.delayed_calls(burn_timed, loads)), p)


def mpire(p: Params) -> dict[str, Any]:
    with pools.mpire_pool(WORKERS) as pool:
        return measure(lambda loads: pool.map(burn_timed, loads), p)


def corepool_pool(p: Params) -> dict[str, Any]:
    with pools.corepool_pool(WORKERS) as pool:
        return measure(lambda loads: pool.map(burn_timed, loads), p)


def corepool_executor(p: Params) -> dict[str, Any]:
    with pools.corepool_executor(WORKERS) as executor:
        return measure(lambda loads: executor.map(burn_timed, loads), p)


def bare_processes(p: Params) -> dict[str, Any]:
    """The machine's ceiling: 2 plain processes, 32 tasks each, no pool and no messages."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    times = context.SimpleQueue()
    processes = [
        context.Process(target=_burn_many, args=(p["loops"], TASKS // WORKERS, times))
        for _ in range(WORKERS)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - started
    if any(process.exitcode != 0 for process in processes):
        raise AssertionError("a bare process failed")
    task_seconds = sum(times.get() for _ in processes)
    return {
        "seconds": seconds,
        "busy": task_seconds / (WORKERS * seconds),
        "task_ms": 1000 * task_seconds / TASKS,
    }


def _burn_many(loops: int, count: int, times: Any) -> None:
    task_seconds = 0.0
    for _ in range(count):
        task_seconds += burn_timed(loops)[1]
    times.put(task_seconds)


def calibrate_loops(task_seconds: float = TASK_SECONDS) -> int:
    """Loop count for which ``burn`` takes ``task_seconds`` here (median of 7 timings: this
    machine's speed wanders by +-20 % from one second to the next)."""
    loops = 20_000
    while True:  # grow until one timing is long enough to trust (~10 ms)
        started = time.perf_counter()
        burn(loops)
        if time.perf_counter() - started > 0.01:
            break
        loops *= 2
    typical = statistics.median(_time_burn(loops) for _ in range(7))
    return max(1, round(loops * task_seconds / typical))


def _time_burn(loops: int) -> float:
    started = time.perf_counter()
    burn(loops)
    return time.perf_counter() - started


def prepare(quick: bool) -> dict[str, Any]:
    loops = calibrate_loops()
    return {"loops": loops, "checksum": burn(loops), "task_seconds": TASK_SECONDS}


def efficiency(serial_seconds: float, parallel_seconds: float) -> float:
    return serial_seconds / (WORKERS * parallel_seconds)


def round_by_round_efficiency(stats: Mapping[str, RowStats], label: str) -> float:
    """The median over the repetitions of the serial loop's time over twice the row's."""
    return efficiency(paired(stats["serial loop"], stats[label]).median, 1.0)


def annotate(stats: Mapping[str, RowStats]) -> dict[str, dict[str, float]]:
    return {label: {"efficiency": round_by_round_efficiency(stats, label)} for label in stats}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    ceiling = round_by_round_efficiency(stats, CEILING)
    checks = []
    # Issue 2 asked 0.95 of both front doors, issue 10 0.97 of the Pool with default arguments.
    for label, bound in (
        ("corepool.Pool", 0.95),
        ("corepool.ProcessPoolExecutor", 0.95),
        ("corepool.Pool", 0.97),
    ):
        value = round_by_round_efficiency(stats, label)
        busy = stats[label].extras.get("busy", float("nan"))
        checks.append(
            TargetCheck(
                f"{label}: parallel efficiency >= {bound:.2f}",
                f"{value:.3f} (workers busy {busy:.3f}; 2 bare processes reach {ceiling:.3f})",
                value >= bound,
            )
        )
    return checks


CEILING = "ceiling: 2 bare processes"

WORKLOAD = Workload(
    name="cpu",
    title="64 pure-Python CPU-bound tasks of ~25 ms",
    description=__doc__ or "",
    rows=(
        Row("serial loop", serial),
        Row(
            CEILING,
            bare_processes,
            "two multiprocessing.Process (fork) running 32 tasks each: what the machine allows",
        ),
        Row("multiprocessing.Pool", mp_pool, "default start method (fork on Linux up to 3.13)"),
        Row("concurrent.futures.ProcessPoolExecutor", futures_process),
        Row("joblib (loky)", joblib_loky),
        Row("mpire", mpire),
        Row("corepool.Pool", corepool_pool),
        Row("corepool.ProcessPoolExecutor", corepool_executor),
    ),
    reference="corepool.Pool",
    prepare=prepare,
    check=check,
    extra_columns=(
        ("efficiency", "efficiency", "{:.3f}"),
        ("busy", "workers busy", "{:.3f}"),
        ("task_ms", "ms per task", "{:.1f}"),
    ),
    annotate=annotate,
    # ~1-2 s a run, but the machine's speed moves by 10-40 % between seconds (a row's "ms per
    # task" ranged 25.8-28.2 in one run), and the efficiency pairs two such runs against a bound
    # 3 % under the ceiling: 7 pairs left the median to one or two of them.
    rounds=3,
)
