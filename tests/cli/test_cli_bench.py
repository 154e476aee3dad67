"""``corepool bench``: runs for real, in a subprocess, and reports what it measured."""

from __future__ import annotations

import json
import math

import pytest

from corepool.cli._bench import report
from corepool.cli._bench.measure import Measurement
from corepool.cli._bench.workloads import Workload, _task_count, spin, wait_for_io

MODES = ["serial", "threads", "processes"]


@pytest.fixture(scope="module")
def quick_json(corepool_command):
    """One ``corepool bench --quick --repeat 2 --format json`` run, shared by the checks below."""
    done = corepool_command(
        "bench", "--quick", "--repeat", "2", "--io-workers", "4", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.timeout(90)
def test_quick_table_has_a_line_per_workload_and_mode(corepool_command):
    done = corepool_command("bench", "--quick", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # --quiet: no progress
    lines = done.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("workload"))
    assert lines[header].split("  ")[0] == "workload"
    assert set(lines[header + 1]) == {"-", " "}
    rows = [line.split() for line in lines[header + 2 :]]
    assert [(row[0], row[1]) for row in rows] == [(w, m) for w in ("cpu", "io") for m in MODES]
    for row in rows:
        assert len(row) == len(report.HEADERS)
        assert float(row[3]) > 0
        assert row[6].endswith("x") and float(row[6][:-1]) > 0
    assert [row[5] for row in rows if row[1] == "serial"] == ["-", "-"]
    assert [row[6] for row in rows if row[1] == "serial"] == ["1.00x", "1.00x"]


@pytest.mark.timeout(120)
def test_io_times_respect_the_physical_lower_bound(quick_json):
    """Waiting cannot be faster than the waits: serial >= tasks x latency, and a pool of w
    workers >= ceil(tasks / w) waves of it.  Fake numbers would not know these bounds."""
    io = next(w for w in quick_json["workloads"] if w["name"] == "io")
    latency, tasks = io["seconds_per_task"], io["tasks"]
    for row in quick_json["results"]:
        if row["workload"] != "io":
            continue
        waves = tasks if row["mode"] == "serial" else math.ceil(tasks / row["workers"])
        assert row["fastest"] >= waves * latency, row


@pytest.mark.timeout(120)
def test_numbers_are_consistent_measurements(quick_json):
    results = quick_json["results"]
    assert [(r["workload"], r["mode"]) for r in results] == [
        (w, m) for w in ("cpu", "io") for m in MODES
    ]
    serial = {r["workload"]: r["seconds"] for r in results if r["mode"] == "serial"}
    for row in results:
        assert len(row["runs"]) == 2  # --repeat 2
        assert row["fastest"] == min(row["runs"]) and row["slowest"] == max(row["runs"])
        assert row["fastest"] <= row["seconds"] <= row["slowest"]
        assert row["speedup"] == pytest.approx(serial[row["workload"]] / row["seconds"])
        if row["mode"] == "serial":
            assert row["start_seconds"] is None and row["workers"] == 1
        else:
            assert row["start_seconds"] > 0
    io_workers = {r["workers"] for r in results if r["workload"] == "io" and r["mode"] != "serial"}
    assert io_workers == {4}
    assert quick_json["repeat"] == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeat", "0"], "must be at least 1, got 0"),
        (["--workers", "many"], "expected a whole number, got 'many'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_options_are_named(corepool_command, args, message):
    done = corepool_command("bench", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_task_count_fills_whole_waves():
    assert _task_count(1.0, 0.025, 2) == 40
    assert _task_count(1.0, 0.03, 2) == 34  # 33.3 tasks: rounded up to 17 waves of 2
    assert _task_count(0.001, 0.02, 16) == 16  # at least one wave


def test_workload_functions_do_their_work():
    assert spin(10) == sum(i * i % 7 for i in range(10))
    assert wait_for_io(0.0) == 0.0


def test_table_columns_line_up_and_speedups_follow_the_medians():
    workloads = [Workload("cpu", "d", spin, [1] * 4, 0.01, 2)]
    measurements = [
        Measurement("cpu", "serial", 1, None, [4.0, 2.0, 3.0]),
        Measurement("cpu", "processes", 2, 0.25, [1.5, 1.0, 2.0]),
    ]
    rows = report.lines(workloads, measurements)
    assert [row.speedup for row in rows] == [1.0, 2.0]
    assert (rows[1].fastest, rows[1].slowest, rows[1].seconds) == (1.0, 2.0, 1.5)
    text = report.table(rows).splitlines()
    assert len({len(line) for line in text}) == 1  # every line as wide as the header
    assert text[2].split() == ["cpu", "serial", "1", "3.000", "2.000-4.000", "-", "1.00x"]
    assert text[3].split() == ["cpu", "processes", "2", "1.500", "1.000-2.000", "0.250", "2.00x"]


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_the_warm_up_starts_every_worker_before_measuring(mode):
    # A pool hands tasks to the workers ready first; the warm-up must still reach all of them,
    # or the rest would start (and take the CPU) during the measurements.
    from corepool.cli._bench.measure import open_runner

    workload = Workload("io", "waits", wait_for_io, [0.0] * 8, 0.0, 8)
    with open_runner(workload, mode) as runner:
        workers = runner._pool.statistics().workers
        assert len(workers) == 8
        assert all(worker.tasks_done == 1 for worker in workers)
