"""The advice, table and plot of ``corepool bench`` as pure functions of synthetic measurements."""

from __future__ import annotations

import pytest

from corepool.cli._bench import advice, plot, report
from corepool.cli._bench.measure import Measurement
from corepool.cli._bench.report import Line, Machine
from corepool.cli._bench.workloads import Workload, spin

START = {"threads": 0.004, "processes": 0.4}
MACHINE = Machine(2)


def lines(serial: float, name: str = "w", **times: dict[int, float]) -> list[Line]:
    """A workload's lines: ``threads={1: 2.0, 2: 2.1}`` is the time per worker count."""
    found = [Line(name, "serial", 1, 40, serial, serial, serial, serial, None, 1.0, (serial,) * 3)]
    for mode, by_workers in times.items():
        found += [
            Line(name, mode, n, 40, t, t, t, t, START.get(mode, 0.1), serial / t, (t,) * 3)
            for n, t in by_workers.items()
        ]
    return found


# Pure-Python CPU work on 2 cores: threads stay at 1x (the GIL), processes double.
CPU_LIKE = lines(2.0, threads={1: 2.0, 2: 2.1}, processes={1: 2.05, 2: 1.05})
# Waiting work: threads and processes both scale with the workers, up to 8 here.
IO_LIKE = lines(
    1.6,
    "io",
    threads={1: 1.6, 2: 0.8, 4: 0.4, 8: 0.2, 16: 0.19},
    processes={1: 1.6, 2: 0.8, 4: 0.41, 8: 0.21, 16: 0.2},
)


def test_cpu_like_measurements_advise_processes_and_name_the_gil():
    said = advice.advise(CPU_LIKE, machine=MACHINE)
    assert (said.backend, said.workers) == ("processes", 2)
    assert said.lines[0].startswith("w: CPU-bound Python (holds the GIL). Use processes, 2 workers")
    assert "gave 1.9x" in said.lines[0]
    assert "threads gave 1.0x at best" in said.lines[0]
    assert "more threads ran 1.00x as fast as one: the GIL" in said.lines[0]
    assert said.lines[1] == (
        "2 workers (processes) kept all 2 cores busy: more processes than cores would only "
        "take turns."
    )


def test_a_slow_serial_run_cannot_make_threads_look_like_they_beat_the_gil():
    # Serial ran in a busy moment: threads look 1.2x "faster", but two ran no faster than one.
    rows = lines(2.4, threads={1: 2.0, 2: 1.95}, processes={1: 2.0, 2: 1.05})
    said = advice.advise(rows, MACHINE)
    assert said.backend == "processes"
    assert said.lines[0].startswith("w: CPU-bound Python (holds the GIL).")


def test_io_like_measurements_advise_threads_and_where_more_stopped_helping():
    said = advice.advise(IO_LIKE, machine=MACHINE)
    assert (said.backend, said.workers) == ("threads", 8)  # 16 gave only 5 % more
    assert said.lines[0].startswith("io: waits or releases the GIL. Use threads")
    assert "Use threads, 8 workers gave 8.0x" in said.lines[0]
    assert "start faster: 0.004 s against 0.400 s" in said.lines[0]
    assert said.lines[1] == "More than 8 workers (threads) did not help (16 gave 8.4x)."


def test_still_scaling_at_the_top_suggests_more_workers_by_the_right_option():
    rows = lines(1.6, threads={1: 1.6, 2: 0.8, 4: 0.4}, processes={1: 1.6, 2: 0.8, 4: 0.4})
    said = advice.advise(rows, machine=MACHINE, more_workers_option="--io-workers")
    assert said.backend == "threads"
    assert (
        said.lines[1] == "Still scaling at 4 workers (threads): more may help (try --io-workers 8)."
    )


def test_when_no_pool_pays_the_advice_is_to_run_serially():
    rows = lines(0.01, threads={1: 0.02, 2: 0.015}, processes={1: 0.05, 2: 0.03})
    said = advice.advise(rows, machine=MACHINE)
    assert (said.backend, said.workers) == ("serial", 1)
    assert said.lines[0] == (
        "w: no pool was worth it here (the best, threads with 2 workers, gave 0.67x): at 250 µs "
        "a task, handing tasks to workers costs more than the work. Run it serially, or give "
        "each call more work (a batch of items)."
    )


def test_long_tasks_that_gain_nothing_blame_the_busy_cores():
    rows = lines(2.0, threads={1: 2.0, 2: 2.1}, processes={1: 2.0, 2: 1.9})
    said = advice.advise(rows, Machine(2, load=5.42))
    assert said.backend == "serial"
    assert said.lines[0].endswith(
        "though at 50 ms a task handing it over is cheap: other programs were using the cores "
        "(the load average was 5.4 on 2 cores). Run again when the machine is quieter."
    )
    quiet = advice.advise(rows, Machine(2, load=0.1))
    assert "using the cores. Run again" in quiet.lines[0]


def test_processes_well_below_the_cores_say_the_machine_was_busy():
    rows = lines(4.0, threads={1: 4.0, 4: 4.0}, processes={1: 4.0, 4: 2.9})
    said = advice.advise(rows, machine=Machine(4))
    assert said.backend == "processes"
    assert any(
        line.startswith("Processes reached 1.4x of an ideal 4x on 4 cores") for line in said.lines
    )


def test_an_extra_backend_is_weighed_like_the_others():
    rows = lines(
        2.0, threads={1: 2.0, 2: 2.0}, processes={1: 2.0, 2: 1.1}, interpreters={1: 2.0, 2: 1.05}
    )
    said = advice.advise(rows, machine=MACHINE)
    assert said.backend == "interpreters"  # as fast as processes, and cheaper to start
    assert "processes gave 1.8x at best" in said.lines[0]


def test_caveats_follow_the_spread_of_the_runs():
    steady = lines(1.0, threads={1: 1.0})
    assert advice.caveats(steady) == []
    single = [Line(**{**row.__dict__, "runs": (row.seconds,)}) for row in steady]
    assert advice.caveats(single)[0].startswith("One run each")
    noisy = [*steady, Line("w", "processes", 2, 40, 0.5, 1.0, 0.5, 1.5, 0.3, 1.0, (0.5, 1.0, 1.5))]
    assert advice.caveats(noisy) == [
        "Runs of the same measurement varied by up to 200% (w processes x2: the machine was "
        "busy): treat small differences as noise, or run again with --repeat 6."
    ]


def test_table_has_a_block_per_workload_with_a_row_per_worker_count():
    workloads = [Workload("cpu", "d", spin, [1] * 4, 0.01, (1, 2))]
    measurements = [
        Measurement("cpu", "serial", 1, None, [4.0, 2.0, 3.0]),
        Measurement("cpu", "threads", 1, 0.002, [3.0, 3.0, 3.0]),
        Measurement("cpu", "processes", 1, 0.25, [3.0, 3.0, 3.0]),
        Measurement("cpu", "processes", 2, 0.5, [1.5, 1.0, 2.0]),
    ]
    rows = report.lines(workloads, measurements)
    assert [row.speedup for row in rows] == pytest.approx([1.0, 2 / 3, 2 / 3, 2.0])
    text = report.table(rows).splitlines()
    assert text[0] == "cpu: serial 2.000 s"  # the fastest run
    assert len({len(line) for line in text[1:4]}) == 1  # the columns line up
    assert text[3].split() == ["1", "3.000", "0.67x", "3.000", "0.67x"]
    assert text[4].split() == ["2", "-", "-", "1.000", "2.00x"]  # no threads x2 measured
    assert text[5] == "  start-up of the pools (s): threads 0.002-0.002, processes 0.250-0.500"


@pytest.mark.parametrize(("value", "shown"), [(1.23456, "1.235"), (0.0123456, "0.0123")])
def test_tiny_times_keep_their_significant_digits(value, shown):
    assert report.seconds(value) == shown


@pytest.mark.timeout(30)
def test_the_plot_is_a_png_written_where_asked(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot.draw(CPU_LIKE + IO_LIKE, "corepool bench on 2 cores", tmp_path / "sub" / "p.png")
    assert path == tmp_path / "sub" / "p.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 10_000 < len(data) < 200_000
