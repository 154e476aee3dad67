"""``corepool bench`` on its own workloads: runs for real, in a subprocess, and reports what it
measured (the table, the JSON, the plot, the advice)."""

from __future__ import annotations

import functools
import json
import math

import pytest

from corepool.cli._bench import measure
from corepool.cli._bench.workloads import _task_count, spin, wait_for_io, worker_ladder


@functools.cache
def pools() -> tuple[str, ...]:
    """The backends ``corepool bench`` measures on this interpreter: threads and processes, and
    subinterpreters where they run (3.13 with the backport, 3.14+)."""
    return measure.pool_modes()[0]


@pytest.fixture(scope="module")
def quick_json(corepool_command, tmp_path_factory):
    """One ``corepool bench --quick --repeat 2 --format json`` run, shared by the checks below."""
    done = corepool_command(
        "bench",
        "--quick",
        "--repeat",
        "2",
        "--io-workers",
        "4",
        "--format",
        "json",
        cwd=tmp_path_factory.mktemp("json"),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.timeout(90)
def test_quick_table_plot_and_advice(corepool_command, tmp_path):
    done = corepool_command(
        "bench", "--quick", "--quiet", "--workers", "2", "--io-workers", "4", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # --quiet: no progress
    out = done.stdout
    for workload, ladder in (("cpu", ["1", "2"]), ("io", ["1", "2", "4"])):
        block = out[out.index(f"\n{workload}: serial ") :].splitlines()[2:]
        assert block[0].split() == ["workers"] + [
            word for mode in pools() for word in (mode, "(s)", "speed-up")
        ]
        assert set(block[1]) == {"-", " "}
        rows = [line.split() for line in block[2 : 2 + len(ladder)]]
        assert [row[0] for row in rows] == ladder
        for row in rows:
            assert float(row[1]) > 0 and float(row[3]) > 0
            assert row[2].endswith("x") and row[4].endswith("x")
        assert block[2 + len(ladder)].startswith("  start-up of the pools (s): threads ")
    advice = out[out.index("advice (from these measurements") :]
    assert "cpu: " in advice and "io: " in advice
    assert f"plot: {tmp_path / 'corepool-bench.png'}" in out  # the default, in the current dir
    assert (tmp_path / "corepool-bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    ladders = {w["name"]: w["workers"] for w in quick_json["workloads"]}
    assert ladders["io"] == [1, 2, 4]
    assert [(r["workload"], r["mode"], r["workers"]) for r in results] == [
        (name, mode, n)
        for name in ("cpu", "io")
        for mode, n in [("serial", 1)] + [(m, n) for m in pools() for n in ladders[name]]
    ]
    serial = {r["workload"]: r["seconds"] for r in results if r["mode"] == "serial"}
    for row in results:
        assert len(row["runs"]) == 2  # --repeat 2
        assert row["fastest"] == min(row["runs"]) and row["slowest"] == max(row["runs"])
        assert row["seconds"] == row["fastest"] <= row["median"] <= row["slowest"]
        assert row["speedup"] == pytest.approx(serial[row["workload"]] / row["seconds"])
        assert (row["start_seconds"] is None) == (row["mode"] == "serial")
    assert [a["workload"] for a in quick_json["advice"]] == ["cpu", "io"]
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


@pytest.mark.parametrize(
    ("top", "ladder"),
    [(1, (1,)), (2, (1, 2)), (3, (1, 2, 3)), (8, (1, 2, 4, 8)), (12, (1, 2, 4, 8, 12))],
)
def test_the_ladder_doubles_up_to_the_top(top, ladder):
    assert worker_ladder(top) == ladder


def test_task_count_fills_whole_waves():
    assert _task_count(1.0, 0.025, 2) == 40
    assert _task_count(1.0, 0.03, 2) == 34  # 33.3 tasks: rounded up to 17 waves of 2
    assert _task_count(0.001, 0.02, 16) == 16  # at least one wave


def test_workload_functions_do_their_work():
    assert spin(10) == sum(i * i % 7 for i in range(10))
    assert wait_for_io(0.0) == 0.0


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_the_warm_up_starts_every_worker_before_measuring(mode):
    # A pool hands tasks to the workers ready first; the warm-up must still reach all of them,
    # or the rest would start (and take the CPU) during the measurements.
    from corepool.cli._bench.measure import open_runner
    from corepool.cli._bench.workloads import Workload

    workload = Workload("io", "waits", wait_for_io, [0.0] * 8, 0.0, (8,))
    with open_runner(workload, mode, 8) as runner:
        workers = runner._pool.statistics().workers
        assert len(workers) == 8
        assert all(worker.tasks_done == 1 for worker in workers)
