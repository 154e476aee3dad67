"""Run corepool side by side with its peers and write the results table.

    python benchmarks/run.py                          # every workload, 5 repetitions
    python benchmarks/run.py -w tiny_map -w start -r 9
    python benchmarks/run.py --quick                  # 3 repetitions, smaller slow rows

Writes ``benchmarks/results/<name>.md`` and ``.json`` (``--name``, default ``sidebyside``).
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import importlib
import importlib.metadata
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from sidebyside import orchestrate, report
from sidebyside.model import Workload
from sidebyside.stats import workload_stats
from sidebyside.workloads import DIAGNOSTICS, NAMES

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "-w",
        "--workload",
        action="append",
        choices=NAMES + DIAGNOSTICS,
        dest="workloads",
        help="a workload to run (repeatable; default: all but the diagnostics)",
    )
    parser.add_argument("-r", "--repeat", type=int, help="repetitions per row (default 5, quick 3)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 repetitions and fewer items for the slow chunksize=1 row",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds before one run counts as failed (default 300)",
    )
    parser.add_argument("--name", default="sidebyside", help="file name of the results")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def load(names: list[str]) -> list[Workload]:
    return [importlib.import_module(f"sidebyside.workloads.{name}").WORKLOAD for name in names]


def versions() -> dict[str, str]:
    found = {}
    for package in ("corepool", "joblib", "mpire"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    import os

    return f"{model}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}"


def compile_corepool() -> None:
    """Byte-compile corepool first, as ``pip install`` does for a user.

    An editable install run with ``PYTHONDONTWRITEBYTECODE`` (as on this machine) would otherwise
    compile corepool's modules afresh in every process, while the standard library and the peers
    in site-packages load theirs precompiled: ~30 ms of every fresh worker under spawn and
    forkserver that no installed corepool pays.
    """
    import corepool

    compileall.compile_dir(Path(corepool.__file__).parent, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    repeat = args.repeat or (3 if args.quick else 5)
    compile_corepool()
    workloads = load(args.workloads or list(NAMES))
    started = time.perf_counter()
    params = {workload.name: workload.prepare(args.quick) for workload in workloads}
    plan = orchestrate.schedule(workloads, repeat)
    collected = orchestrate.run_plan(
        plan, params, args.timeout, lambda line: print(line, file=sys.stderr, flush=True)
    )
    sections = []
    for workload in workloads:
        runs = collected.runs.get(workload.name, {})
        stats = workload_stats(workload, runs)
        try:
            checks = workload.check(stats, params[workload.name])
        except (KeyError, ValueError, ZeroDivisionError) as error:
            checks = []
            print(f"{workload.name}: targets not checked ({error!r})", file=sys.stderr)
        sections.append(
            {
                "workload": workload,
                "stats": stats,
                "runs": runs,
                "checks": checks,
                "params": params[workload.name],
                "table": report.workload_table(workload, stats, params[workload.name]),
            }
        )
    arguments = sys.argv[1:] if argv is None else argv
    all_runs = [run for rows in collected.runs.values() for runs in rows.values() for run in runs]
    meta: dict[str, Any] = {
        "command": f"python benchmarks/run.py {shlex.join(arguments)}".strip(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "repeat": repeat,
        "elapsed_seconds": time.perf_counter() - started,
        "machine": machine(),
        "python": platform.python_version(),
        "versions": versions(),
        "others_cores": sum(run["others_cores"] for run in all_runs) / max(1, len(all_runs)),
    }
    markdown = report.document(meta, sections)
    print(markdown)
    if not args.no_write:
        machine_readable = report.json_document(meta, sections)
        for path in report.write(RESULTS_DIR, args.name, markdown, machine_readable):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
