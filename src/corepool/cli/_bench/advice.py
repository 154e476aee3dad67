"""Advice from what ``corepool bench`` measured: which backend, how many workers, and why.

Pure functions of the table's lines, so that tests feed them synthetic measurements.  Nothing
here knows what a workload *is*: "holds the GIL" or "waits or releases the GIL" is read from how
threads scaled against processes, so the same rules advise on the user's own function.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from corepool.cli._bench.measure import SERIAL
from corepool.cli._bench.report import Line, Machine, modes_of

# A speed-up below this is not worth a pool: with the spread of runs on a busy machine (~10 %)
# and a pool's start-up, 1.2x is the least that reliably pays.
WORTHWHILE_SPEEDUP = 1.2
# Modes within this fraction of the best speed-up count as "as fast"; then the cheapest wins
# (threads start in milliseconds, processes in tenths of a second).  The same fraction says
# where more workers "stopped helping": the smallest count within it of the mode's best.
AS_FAST = 0.9
# Cheapest first: the order in which equally fast modes are preferred.
PREFERENCE = ("threads", "interpreters", "processes")
# Processes below this fraction of the ideal (min(cores, workers)) mean the cores were busy.
BUSY_MACHINE = 0.6
# Runs of one measurement further apart than this fraction of the fastest: a busy machine.
NOISY_SPREAD = 0.25
# A load average (before the bench starts) at or above this fraction of the cores: other programs
# were running, and processes could not have every core.
BUSY_LOAD = 0.5
# Tasks shorter than this cost about as much to hand to a worker (pickling, a queue, a wake-up:
# ~0.1-1 ms for processes) as to run; longer ones that still gain nothing point at busy cores.
SHORT_TASK_SECONDS = 0.001
# The advice is wrapped to the width of the table's heading lines, readable in a terminal.
TEXT_WIDTH = 100
# Still scaling at the top of the ladder: the best count is the largest tried and it gave at
# least this fraction of the ideal.
STILL_SCALING = 0.75


@dataclass(frozen=True)
class Advice:
    workload: str
    backend: str
    """``threads``, ``processes``, ... or ``serial`` when no pool paid."""
    workers: int
    speedup: float
    lines: tuple[str, ...]
    """Sentences for the user, the headline first."""


def best(rows: Sequence[Line], mode: str) -> Line:
    """The mode's fastest line (highest speed-up; fewer workers on a tie)."""
    return max((row for row in rows if row.mode == mode), key=lambda r: (r.speedup, -r.workers))


def enough(rows: Sequence[Line], mode: str) -> Line:
    """The fewest workers that gave nearly (``AS_FAST``) the mode's best speed-up."""
    top = best(rows, mode).speedup
    return min(
        (row for row in rows if row.mode == mode and row.speedup >= AS_FAST * top),
        key=lambda r: r.workers,
    )


def choose(rows: Sequence[Line]) -> Line | None:
    """The cheapest mode that is nearly as fast as the fastest, at its ``enough`` count; None
    when no mode reached ``WORTHWHILE_SPEEDUP``."""
    modes = modes_of(rows)
    if not modes:
        return None
    fastest = max(best(rows, mode).speedup for mode in modes)
    if fastest < WORTHWHILE_SPEEDUP:
        return None
    ranked = sorted(modes, key=lambda m: PREFERENCE.index(m) if m in PREFERENCE else 99)
    chosen = next(m for m in ranked if best(rows, m).speedup >= AS_FAST * fastest)
    return enough(rows, chosen)


def advise(
    rows: Sequence[Line], machine: Machine, more_workers_option: str = "--workers"
) -> Advice:
    """Advice on one workload's lines (its serial line and every pool line)."""
    name = rows[0].workload
    chosen = choose(rows)
    if chosen is None:
        return Advice(name, SERIAL, 1, 1.0, (_no_pool(rows, machine),))
    said = [_headline(rows, chosen), *_scaling(rows, chosen, machine, more_workers_option)]
    said += _busy(rows, machine)
    return Advice(name, chosen.mode, chosen.workers, chosen.speedup, tuple(said))


def _headline(rows: Sequence[Line], chosen: Line) -> str:
    others = [best(rows, m) for m in modes_of(rows) if m != chosen.mode]
    gave = f"{chosen.mode}, {chosen.workers} workers gave {chosen.speedup:.1f}x"
    compared = "; ".join(f"{o.mode} gave {o.speedup:.1f}x at best" for o in others)
    if chosen.mode == "threads":
        kind = "waits or releases the GIL"
        why = _cheaper_start(rows, chosen, others)
    elif _threads_gain(rows) < WORTHWHILE_SPEEDUP:
        kind = "CPU-bound Python (holds the GIL)"
        why = f"more threads ran {_threads_gain(rows):.2f}x as fast as one: the GIL"
    else:
        kind, why = "parallel work", f"{chosen.mode} were the fastest"
    return (
        f"{chosen.workload}: {kind}. Use {gave}"
        + (f"; {compared}" if compared else "")
        + (f" ({why})." if why else ".")
    )


def _threads_gain(rows: Sequence[Line]) -> float:
    """How much faster the best thread pool ran than one thread: against the pool's own first
    rung rather than serial, so that a slow serial run (a busy moment) cannot fake a gain."""
    threads = sorted((row for row in rows if row.mode == "threads"), key=lambda r: r.workers)
    if len(threads) < 2:
        return math.inf
    return threads[0].seconds / min(row.seconds for row in threads)


def _cheaper_start(rows: Sequence[Line], chosen: Line, others: Sequence[Line]) -> str:
    pooled = [o for o in others if o.speedup >= AS_FAST * chosen.speedup]
    if not pooled:
        return ""
    names = " and ".join(o.mode for o in pooled)
    starts = ", ".join(f"{_start(rows, o):.3f} s" for o in pooled)
    return (
        f"{chosen.mode} are as fast as {names} and start faster: "
        f"{_start(rows, chosen):.3f} s against {starts}"
    )


def _start(rows: Sequence[Line], like: Line) -> float:
    for row in rows:
        if row.mode == like.mode and row.workers == like.workers and row.start_seconds:
            return row.start_seconds
    return 0.0


def _scaling(rows: Sequence[Line], chosen: Line, machine: Machine, option: str) -> list[str]:
    counts = [row for row in rows if row.mode == chosen.mode]
    top = max(counts, key=lambda r: r.workers)
    scaling = top.workers == chosen.workers and top.speedup >= STILL_SCALING * top.workers > 1
    if scaling and chosen.mode == "processes" and top.workers >= machine.cores:
        return [
            f"{top.workers} workers (processes) kept all {machine.cores} cores busy: more "
            "processes than cores would only take turns."
        ]
    if scaling:
        return [
            f"Still scaling at {top.workers} workers ({chosen.mode}): more may help "
            f"(try {option} {top.workers * 2})."
        ]
    if top.workers > chosen.workers:
        return [
            f"More than {chosen.workers} workers ({chosen.mode}) did not help "
            f"({top.workers} gave {top.speedup:.1f}x)."
        ]
    return []


def _busy(rows: Sequence[Line], machine: Machine) -> list[str]:
    if "processes" not in modes_of(rows):
        return []
    fastest = best(rows, "processes")
    ideal = min(machine.cores, fastest.workers)
    if ideal < 2 or fastest.speedup >= BUSY_MACHINE * ideal:
        return []
    return [
        f"Processes reached {fastest.speedup:.1f}x of an ideal {ideal}x on {machine.cores} "
        f"cores: other programs were using the cores{_busy_load(machine)}, the cores are "
        "hyperthreads or shared virtual CPUs, or the tasks are too short for the cost of "
        "sending them."
    ]


def _busy_load(machine: Machine) -> str:
    """`` (the load average was 5.1 on 2 cores)`` when other programs were running, or ``""``."""
    if machine.load is None or machine.load < BUSY_LOAD * machine.cores:
        return ""
    return f" (the load average was {machine.load:.1f} on {machine.cores} cores)"


def _no_pool(rows: Sequence[Line], machine: Machine) -> str:
    name = rows[0].workload
    pooled = [best(rows, mode) for mode in modes_of(rows)]
    if not pooled:
        return f"{name}: nothing to compare (serial only)."
    fastest = max(pooled, key=lambda r: r.speedup)
    serial = next((row for row in rows if row.mode == SERIAL), fastest)
    per_task = serial.seconds / max(1, serial.tasks)
    said = (
        f"{name}: no pool was worth it here (the best, {fastest.mode} with {fastest.workers} "
        f"worker{'s' if fastest.workers != 1 else ''}, gave {fastest.speedup:.2f}x)"
    )
    if per_task < SHORT_TASK_SECONDS:
        return (
            f"{said}: at {per_task * 1e6:.3g} µs a task, handing tasks to workers costs more "
            "than the work. Run it serially, or give each call more work (a batch of items)."
        )
    return (
        f"{said}, though at {per_task * 1000:.3g} ms a task handing it over is cheap: other "
        f"programs were using the cores{_busy_load(machine)}. Run again when the machine is "
        "quieter."
    )


def caveats(rows: Sequence[Line]) -> list[str]:
    """How far to trust the figures: one run each, or runs that varied a lot."""
    if all(len(row.runs) == 1 for row in rows):
        return [
            "One run each (--quick or --repeat 1): figures this short are rough; run without "
            "--quick before deciding."
        ]
    widest = max(rows, key=lambda row: (row.slowest - row.fastest) / row.fastest, default=None)
    if widest is None or (widest.slowest - widest.fastest) / widest.fastest <= NOISY_SPREAD:
        return []
    spread = (widest.slowest - widest.fastest) / widest.fastest
    where = f"{widest.workload} {widest.mode}" + (
        "" if widest.mode == SERIAL else f" x{widest.workers}"
    )
    return [
        f"Runs of the same measurement varied by up to {spread:.0%} ({where}: the machine was "
        "busy): "
        "treat small differences as noise, or run again with "
        f"--repeat {max(5, 2 * len(widest.runs))}."
    ]


def text(advice: Sequence[Advice], rows: Sequence[Line] = ()) -> str:
    said = [line for item in advice for line in item.lines] + caveats(rows)
    bullets = (
        textwrap.fill(line, TEXT_WIDTH, initial_indent="  * ", subsequent_indent="    ")
        for line in said
    )
    return "advice (from these measurements, on this machine):\n" + "\n".join(bullets)
