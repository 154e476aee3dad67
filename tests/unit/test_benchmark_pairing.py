"""benchmarks/run.py compares two rows repetition by repetition (``sidebyside/stats.py``).

The figures the docs quote come from it, so the pairing itself is tested: each repetition's
number of one row over the other's in the same repetition, failed repetitions left out.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def stats() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from sidebyside import stats as module

        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_rows_are_compared_within_each_repetition(stats: ModuleType) -> None:
    # The machine was twice as slow in the second repetition: each round the peer took 1.5x
    # corepool's time, which a ratio of the medians over all rounds (2.0 / 2.0) would hide.
    ours = stats.row_stats("ours", [{"seconds": 1.0}, {"seconds": 2.0}, {"seconds": 4.0}])
    peer = stats.row_stats("peer", [{"seconds": 1.5}, {"seconds": 3.0}, {"seconds": 2.0}])
    compared = stats.paired(peer, ours)
    assert (compared.median, compared.low, compared.high, compared.rounds) == (1.5, 0.5, 1.5, 3)
    assert peer.median / ours.median == 1.0
    assert compared.text() == "x1.50 round by round (0.50-1.50)"


def test_a_failed_repetition_is_left_out_of_the_pairs(stats: ModuleType) -> None:
    ours = stats.row_stats("ours", [{"seconds": 1.0}, {"error": "timeout"}, {"seconds": 2.0}])
    peer = stats.row_stats("peer", [{"seconds": 3.0}, {"seconds": 9.0}, {"seconds": 4.0}])
    assert ours.rounds["seconds"][0] == 1.0 and math.isnan(ours.rounds["seconds"][1])
    compared = stats.paired(peer, ours)
    assert (compared.median, compared.rounds) == (2.5, 2)


def test_extras_are_paired_by_their_own_key(stats: ModuleType) -> None:
    ours = stats.row_stats("ours", [{"seconds": 1.0, "items_per_second": 10.0}])
    peer = stats.row_stats("peer", [{"seconds": 1.0, "items_per_second": 4.0}])
    assert stats.paired(ours, peer, "items_per_second").median == 2.5


def test_no_common_repetition_gives_no_ratio(stats: ModuleType) -> None:
    ours = stats.row_stats("ours", [{"error": "crashed"}])
    peer = stats.row_stats("peer", [{"seconds": 1.0}])
    compared = stats.paired(peer, ours)
    assert math.isnan(compared.median) and compared.rounds == 0
    assert compared.text() == "no repetition with both rows"


def test_a_workload_of_several_rounds_runs_every_row_in_each_round() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from sidebyside import orchestrate
        from sidebyside.model import Row, Workload
    finally:
        sys.path.remove(str(BENCHMARKS))

    def workload(name: str, rounds: int) -> Workload:
        rows = tuple(Row(label, lambda p: {}, label) for label in ("a", "b", "c"))
        return Workload(name, name, "", rows, "a", lambda quick: {}, lambda s, p: [], rounds=rounds)

    plan = orchestrate.schedule([workload("many", 3), workload("one", 1)], 2)
    many = [(repetition, label) for repetition, w, label in plan if w.name == "many"]
    assert len(many) == 2 * 3 * 3 and sum(1 for w in plan if w[1].name == "one") == 2 * 3
    rounds = [[label for _, label in many[i : i + 3]] for i in range(0, len(many), 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)  # each round: every row once
    assert len({r[0] for r in rounds}) == 3  # no row always first
    assert [repetition for repetition, _ in many] == [0] * 9 + [1] * 9
    # each repetition goes through every workload before the next repetition begins
    assert [w.name for _, w, _ in plan[:12]] == ["many"] * 9 + ["one"] * 3
