"""Rendering results: one markdown document (also what the terminal shows) and one JSON file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sidebyside.model import RowStats, TargetCheck, Workload
from sidebyside.stats import ratio


def _seconds(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.4f}" if value < 0.1 else f"{value:.3f}"


def _ratio(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}x"


def workload_table(
    workload: Workload, stats: Mapping[str, RowStats], params: Mapping[str, Any]
) -> str:
    headers = ["row", "median (s)", "min (s)", "max (s)", "vs corepool", "runs"]
    headers += [header for _, header, _ in workload.extra_columns]
    headers.append("others (cores)")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    notes: list[str] = []
    for row in workload.rows:
        row_stats = stats[row.label]
        label = row.label
        if row.note:
            notes.append(row.note.format(**params))
            label += f" [{len(notes)}]"
        cells = [
            label,
            _seconds(row_stats.median),
            _seconds(row_stats.low),
            _seconds(row_stats.high),
            _ratio(ratio(workload, stats, row.label)),
            str(row_stats.runs),
        ]
        for key, _, fmt in workload.extra_columns:
            value = row_stats.extras.get(key)
            cells.append("—" if value is None or math.isnan(value) else _format(fmt, key, value))
        cells.append(f"{row_stats.extras.get('others_cores', math.nan):.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"[{number}] {note}" for number, note in enumerate(notes, 1)]
    errors = [
        f"- {label}: {error}" for label, row_stats in stats.items() for error in row_stats.errors
    ]
    if errors:
        lines += ["", "Failed runs:", *errors]
    return "\n".join(lines)


def _format(fmt: str, key: str, value: float) -> str:
    if key == "items_per_second":
        value /= 1e6
    return fmt.format(value)


def targets_table(checks: Sequence[TargetCheck]) -> str:
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {c.target} | {c.measured} | {'yes' if c.met else '**NO**'} |" for c in checks]
    return "\n".join(lines)


def document(meta: Mapping[str, Any], sections: Sequence[dict[str, Any]]) -> str:
    parts = [
        "# corepool side by side",
        "",
        f"`{meta['command']}` — {meta['date']}, {meta['repeat']} repetitions, round-robin, "
        f"one fresh interpreter per run; took {meta['elapsed_seconds']:.0f} s.",
        "",
        f"Machine: {meta['machine']}. Python {meta['python']}. Versions: "
        + ", ".join(f"{name} {version}" for name, version in meta["versions"].items())
        + ".",
        "",
        "Times are seconds (median, min, max over the repetitions). *vs corepool* is the row's "
        "time over corepool's in the same repetition, the median over the repetitions (rows of "
        "a workload run within seconds of each other in each repetition; see "
        "`sidebyside/stats.py`): above 1.00x corepool is faster, below it slower.  A target "
        "that compares two rows is judged the same way, round by round; its line also gives the "
        "two rows' own medians and the lowest and highest of the round-by-round ratios. *others "
        "(cores)* is the median CPU that processes outside this benchmark used during the row's "
        "runs, plus what the host of this virtual machine took from it (other sessions share "
        "this 2-core machine; a lower bound, see `sidebyside/machine.py`): where it is high, the "
        "row's times are noise.",
        "",
        f"Other processes and the host used {meta['others_cores']:.2f} cores on average over the "
        "whole run.",
    ]
    all_checks = [check for section in sections for check in section["checks"]]
    if all_checks:
        parts += ["", "## Targets (issues 2 and 10)", "", targets_table(all_checks)]
    for section in sections:
        workload = section["workload"]
        parts += [
            "",
            f"## {workload.title}",
            "",
            f"Workload `{workload.name}`"
            + (f", {workload.rounds} rounds per repetition" if workload.rounds > 1 else "")
            + ". "
            + " ".join(workload.description.split()),
            "",
            section["table"],
        ]
    return "\n".join(parts) + "\n"


def json_document(meta: Mapping[str, Any], sections: Sequence[dict[str, Any]]) -> str:
    data: dict[str, Any] = {"meta": dict(meta), "workloads": {}}
    for section in sections:
        workload: Workload = section["workload"]
        stats: Mapping[str, RowStats] = section["stats"]
        data["workloads"][workload.name] = {
            "title": workload.title,
            "params": section["params"],
            "reference": workload.reference,
            "rows": [
                {
                    **asdict(stats[row.label]),
                    "ratio_vs_corepool": _finite(ratio(workload, stats, row.label)),
                    "note": row.note.format(**section["params"]),
                    "raw_runs": section["runs"].get(row.label, []),
                }
                for row in workload.rows
            ],
            "targets": [asdict(check) for check in section["checks"]],
        }
    return json.dumps(_clean(data), indent=2, allow_nan=False) + "\n"


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def _clean(value: Any) -> Any:
    """NaN (a row without a successful run) becomes null: JSON has no NaN."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def write(directory: Path, name: str, markdown: str, machine_readable: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{name}.md", directory / f"{name}.json"]
    for path, text in zip(paths, (markdown, machine_readable), strict=True):
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return paths
