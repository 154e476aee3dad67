"""Running the plan: every (repetition, workload, row) in its own fresh interpreter, round-robin.

Within a repetition the rows of a workload run one after another, starting one row later each
repetition, so that a slow spell of the machine falls on different rows each time and no row
always runs first (cold caches) or last.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidebyside.child import RESULT_PREFIX
from sidebyside.machine import ForeignLoad, cores_between
from sidebyside.model import Workload

BENCHMARKS_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Collected:
    """Raw results: workload name -> row label -> one dict per run."""

    runs: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def add(self, workload: str, row: str, result: dict[str, Any]) -> None:
        self.runs.setdefault(workload, {}).setdefault(row, []).append(result)


def rotated(labels: Sequence[str], repetition: int) -> list[str]:
    """The rows' order in one repetition: shifted by one each time, so that no row always runs
    first, or right after the same neighbour."""
    shift = repetition % len(labels)
    return [*labels[shift:], *labels[:shift]]


def schedule(workloads: Sequence[Workload], repeat: int) -> list[tuple[int, Workload, str]]:
    """Every row of every workload, ``repeat`` times (times the workload's ``rounds``), each
    repetition going through all workloads before the next begins."""
    plan = []
    for repetition in range(repeat):
        for workload in workloads:
            labels = [row.label for row in workload.rows]
            for round_ in range(repetition * workload.rounds, (repetition + 1) * workload.rounds):
                plan += [(repetition, workload, label) for label in rotated(labels, round_)]
    return plan


def child_environment(*paths: str) -> dict[str, str]:
    """This process's environment for a fresh interpreter that imports ``sidebyside`` (and,
    first, whatever is under ``paths``: another corepool source tree, say)."""
    env = dict(os.environ)
    searched = [*paths, str(BENCHMARKS_DIR), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, searched))
    return env


def run_python_json(arguments: Sequence[str], timeout: float, *paths: str) -> Any:
    """Run ``python *arguments`` in a fresh interpreter (``child_environment(*paths)``) and return
    the JSON value its last line of output prints; raises if it fails."""
    done = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        env=child_environment(*paths),
        timeout=timeout,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def run_one(workload: str, row: str, params: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    spec = json.dumps({"workload": workload, "row": row, "params": dict(params)})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sidebyside.child", spec],
            cwd=BENCHMARKS_DIR,
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": f"exit code {done.returncode}: {last}"}


def run_plan(
    plan: Sequence[tuple[int, Workload, str]],
    params: Mapping[str, Mapping[str, Any]],
    timeout: float,
    progress: Callable[[str], None],
) -> Collected:
    collected = Collected()
    started = time.perf_counter()
    with ForeignLoad() as foreign:
        for position, (_, workload, label) in enumerate(plan, 1):
            before = foreign.reading()
            result = run_one(workload.name, label, params[workload.name], timeout)
            result["others_cores"] = cores_between(before, foreign.reading())
            collected.add(workload.name, label, result)
            _report_progress(progress, position, plan, started, result)
    return collected


def _report_progress(
    progress: Callable[[str], None],
    position: int,
    plan: Sequence[tuple[int, Workload, str]],
    started: float,
    result: Mapping[str, Any],
) -> None:
    repetition, workload, label = plan[position - 1]
    shown = result.get("error") or f"{result['seconds']:.4f} s"
    elapsed = time.perf_counter() - started
    progress(
        f"[{position}/{len(plan)} rep {repetition + 1}, {elapsed:.0f} s] {workload.name} / "
        f"{label}: {shown} (other processes and the host: {result['others_cores']:.2f} cores)"
    )
