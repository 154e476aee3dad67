"""What a workload is: rows to run side by side, the corepool row they are compared with, targets.

A *row* is one peer doing the workload (``"multiprocessing.Pool"``, ``"corepool.Pool"``...).  Its
runner executes inside a fresh subprocess (``child.py``), sets its pool up, times only the part the
workload is about, and returns a ``Measurement``-shaped dict.  The orchestrator imports these
modules too, so a runner imports its peer library inside the function, never at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Params = Mapping[str, Any]
Runner = Callable[[Params], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    label: str
    run: Runner
    note: str = ""
    """Footnote printed under the table (how this row differs: fewer items, a start method...)."""
    compare_with: str | None = None
    """The row its ratio is taken against, when not the workload's ``reference``."""


@dataclass(frozen=True)
class TargetCheck:
    target: str
    measured: str
    met: bool


@dataclass(frozen=True)
class RowStats:
    """Statistics of one row over its repetitions (seconds, unless ``unit`` says otherwise)."""

    label: str
    runs: int
    median: float
    low: float
    high: float
    extras: dict[str, float] = field(default_factory=dict)
    """Medians of the other numbers a runner returned (peak RSS, items per second...)."""
    errors: tuple[str, ...] = ()
    rounds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """Each number (``seconds`` and the extras) of each repetition, in repetition order; NaN
    where that repetition's run failed.  Rows of one workload ran in the same repetition within
    seconds of each other: ``stats.paired`` compares them round by round."""


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    description: str
    rows: tuple[Row, ...]
    reference: str
    """The corepool row the ratios are taken against."""
    prepare: Callable[[bool], dict[str, Any]]
    """Called once in the orchestrator (``quick`` flag) before any run: sizes and calibration."""
    check: Callable[[Mapping[str, RowStats], Params], list[TargetCheck]]
    extra_columns: tuple[tuple[str, str, str], ...] = ()
    """(key in extras, column header, format) shown after the ratio column."""
    annotate: Callable[[Mapping[str, RowStats]], dict[str, dict[str, float]]] | None = None
    """Extras derived across rows (efficiency against the serial row...): label -> extras."""
    rounds: int = 1
    """Rounds of every row per repetition.  A workload whose runs take tens of milliseconds, or
    whose target is a bound within the machine's noise, runs several: more samples for medians
    and round-by-round ratios that the noise moves less from one run to the next (each round is
    paired as a repetition)."""

    def row(self, label: str) -> Row:
        for row in self.rows:
            if row.label == label:
                return row
        raise KeyError(f"workload {self.name!r} has no row {label!r}")
