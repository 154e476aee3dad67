"""``corepool bench module:function --args ...``: your own function, end to end and its errors;
the plot's absence without matplotlib; the progress display; optional backends."""

from __future__ import annotations

import io
import json
import textwrap

import pytest

from corepool.cli._bench import measure, userfn
from corepool.cli._bench.progress import BarSteps, LineSteps, SilentSteps, open_steps

MODULE = textwrap.dedent(
    """
    import time

    def nap(x):
        time.sleep(0.002)
        return x * 2

    def add(a, b):
        return a + b

    def boom(x):
        raise ValueError(f"no good: {x}")

    def lock(x):
        import threading
        return threading.Lock()  # runs here, but cannot come back from a worker process

    NOT_CALLABLE = 3
    """
)


@pytest.fixture
def project(tmp_path):
    """A directory with the user's module in it, as the current directory of the command."""
    (tmp_path / "mywork.py").write_text(MODULE)
    return tmp_path


@pytest.mark.timeout(60)
def test_your_function_gets_the_table_the_advice_and_the_plot(corepool_command, project):
    done = corepool_command(
        "bench",
        "mywork:nap",
        "--args",
        "range:40",
        "--quick",
        "--workers",
        "2",
        "--plot",
        "out/nap.png",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    assert "calling mywork:nap(0) once, here" in done.stderr
    assert "] run 1/1 mywork:nap threads x2: " in done.stderr  # a line per step, not a tty
    out = done.stdout
    assert "mywork:nap: serial " in out
    assert "advice (from these measurements, on this machine):\n  * mywork:nap: " in out
    assert f"plot: {project / 'out' / 'nap.png'}" in out
    assert (project / "out" / "nap.png").stat().st_size > 10_000


@pytest.mark.timeout(60)
def test_star_calls_with_each_json_array_unpacked(corepool_command, project):
    (project / "pairs.jsonl").write_text("[1, 2]\n\n[3, 4]\n[5, 6]\n")
    done = corepool_command(
        "bench",
        "mywork:add",
        "--args",
        "pairs.jsonl",
        "--star",
        "--quick",
        "--workers",
        "1",
        "--format",
        "json",
        "--quiet",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["workloads"][0]["tasks"] == 3  # the blank line is no argument
    assert {(r["mode"], r["workers"]) for r in found["results"]} == {("serial", 1)} | {
        (mode, 1)
        for mode in measure.pool_modes()[0]  # threads, processes, maybe interpreters
    }
    assert not (project / "corepool-bench.png").exists()  # JSON: a plot only when asked


@pytest.mark.timeout(60)
def test_without_matplotlib_the_table_comes_with_a_hint(corepool_command, project, tmp_path):
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    done = corepool_command(
        "bench",
        "mywork:nap",
        "--args",
        "range:8",
        "--quick",
        "--workers",
        "1",
        "--quiet",
        cwd=project,
        path_first=[blocker.parent],
    )
    assert done.returncode == 0, done.stderr
    assert "mywork:nap: serial " in done.stdout
    assert "plot: not drawn: pip install 'corepool[plot]' (matplotlib)" in done.stdout
    assert not (project / "corepool-bench.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nomod:f", "--args", "range:3"], "cannot import module 'nomod': ModuleNotFoundError"),
        (["mywork:nope", "--args", "range:3"], "module 'mywork' has no attribute 'nope'"),
        (["mywork:NOT_CALLABLE", "--args", "range:3"], "mywork:NOT_CALLABLE is not callable"),
        (["mywork", "--args", "range:3"], "expected module:function"),
        (["mywork:nap"], "a function needs --args"),
        (["--args", "range:3"], "a function needs --args"),
        (["mywork:nap", "--args", "range:x"], "--args range:N needs a whole number N >= 1"),
        (["mywork:nap", "--args", "missing.txt"], "cannot read --args 'missing.txt'"),
        (["mywork:add", "--args", "range:3", "--star"], "--star needs a list per argument"),
    ],
)
def test_bad_inputs_are_named_in_one_line(corepool_command, project, args, message):
    done = corepool_command("bench", *args, "--quick", cwd=project)
    assert done.returncode == 2
    assert f"corepool bench: error: {message}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_function_that_raises_on_the_first_argument_stops_the_bench(corepool_command, project):
    done = corepool_command("bench", "mywork:boom", "--args", "range:3", "--quick", cwd=project)
    assert done.returncode == 1
    assert 'raise ValueError(f"no good: {x}")' in done.stderr  # the user's traceback
    assert "userfn.py" not in done.stderr  # and none of the bench's frames
    assert done.stderr.rstrip().endswith(
        "corepool bench: the function raised on the first argument 0: ValueError: no good: 0"
    )
    assert done.stdout == ""


@pytest.mark.timeout(60)
def test_a_function_that_fails_only_in_a_pool_stops_with_one_line(corepool_command, project):
    done = corepool_command(
        "bench",
        "mywork:lock",
        "--args",
        "range:4",
        "--quick",
        "--quiet",
        "--workers",
        "1",
        cwd=project,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("corepool bench: mywork:lock failed in a pool: ")
    assert "cannot pickle" in done.stderr
    assert done.stdout == ""


def test_argument_files_are_json_by_suffix_else_plain_strings(tmp_path):
    plain = tmp_path / "urls.txt"
    plain.write_text("https://a.example/1\n\n 42\n")
    assert userfn.read_args(str(plain)) == ["https://a.example/1", " 42"]
    typed = tmp_path / "args.jsonl"
    typed.write_text('1\n"two"\n{"n": 3}\n')
    assert userfn.read_args(str(typed)) == [1, "two", {"n": 3}]
    typed.write_text("1\n{oops\n")
    with pytest.raises(userfn.BenchInputError, match=r"args.jsonl:2: not JSON"):
        userfn.read_args(str(typed))
    assert userfn.read_args("range:3") == [0, 1, 2]


def test_your_workload_is_cut_to_the_budget_but_keeps_a_task_per_worker():
    workload = userfn.user_workload("m:f", abs, list(range(1000)), 0.01, 0.5, 8)
    assert workload.tasks == 50 and workload.ladder == (1, 2, 4, 8)
    assert "the first 50 of 1000" in workload.description
    assert userfn.user_workload("m:f", abs, list(range(1000)), 1.0, 0.5, 8).tasks == 8
    assert userfn.user_workload("m:f", abs, [1, 2], 1e-9, 0.5, 8).tasks == 2


def test_star_unpacks_and_pickles():
    import pickle

    star = pickle.loads(pickle.dumps(userfn.Star(divmod)))
    assert star((7, 2)) == (3, 1)


def test_progress_is_a_line_per_step_off_a_terminal_and_a_bar_on_one():
    stream = io.StringIO()
    steps = open_steps(12, quiet=False, stream=stream)
    assert isinstance(steps, LineSteps)
    steps.done("run 1/1 cpu serial: 0.200 s")
    steps.note("calibrating")
    assert stream.getvalue() == "  [ 1/12] run 1/1 cpu serial: 0.200 s\n  calibrating\n"
    assert isinstance(open_steps(12, quiet=True, stream=stream), SilentSteps)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    pytest.importorskip("tqdm")
    terminal = Terminal()
    bar = open_steps(2, quiet=False, stream=terminal)
    assert isinstance(bar, BarSteps)
    bar.done("started cpu threads x1: 0.003 s")
    bar.close()
    assert "corepool bench" in terminal.getvalue() and "1/2" in terminal.getvalue()


def test_an_optional_backend_that_does_not_start_is_skipped_with_a_note(monkeypatch):
    modes, notes = measure.pool_modes()
    assert modes[:2] == ("threads", "processes")
    monkeypatch.setattr(measure, "backend_names", lambda: ("threads", "processes", "interpreters"))
    monkeypatch.setattr(measure, "OPTIONAL_MODES", ("interpreters",))
    if "interpreters" in modes:
        pytest.skip("this corepool has a working interpreters backend")
    modes, notes = measure.pool_modes()
    assert modes == ("threads", "processes")
    assert notes == [notes[0]] and notes[0].startswith("interpreters: skipped (not available here")
