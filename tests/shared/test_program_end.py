"""When a program ends, however it ends, its janitor ends too and nothing of it is left.

A program (``lifecycle_program.py``, its own process tree with its own janitor) uses every kind
of shared object under each start method; the test then checks with psutil that the janitor and
every worker are gone, that no helper process of any other kind is left (no per-process
watchers), and that /dev/shm holds nothing made through that janitor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from corepool.shared._store import shared_root
from support.processes import START_METHODS
from support.waiting import wait_until

pytest.importorskip("numpy")

PROGRAM = Path(__file__).with_name("lifecycle_program.py")


def _start(method: str, ending: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key != "COREPOOL_JANITOR"}
    env["PYTHONPATH"] = os.pathsep.join([str(PROGRAM.parent), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-W", "error", str(PROGRAM), method, ending],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(program: subprocess.Popen[str], last: str) -> dict[str, list[str]]:
    assert program.stdout is not None
    lines: dict[str, list[str]] = {}
    for line in program.stdout:
        word, *rest = line.split()
        lines.setdefault(word, []).extend(rest)
        if word == last:
            return lines
    raise AssertionError(f"the program ended before {last}: {program.communicate()[1]}")


def _processes_of(janitor: str) -> list[psutil.Process]:
    """Processes whose command line names this janitor: the janitor itself."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if janitor in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def _leftovers(janitor: str) -> list[str]:
    prefix = f"cp-{janitor.rsplit('-', 1)[-1]}-"
    return [
        os.path.join(directory, name)
        for directory in {"/dev/shm", shared_root()}
        for name in os.listdir(directory)
        if name.startswith(prefix)
    ]


def _check_all_gone(janitor: str, pids: list[int]) -> None:
    wait_until(lambda: not _processes_of(janitor), timeout=30, what="the janitor to exit")
    wait_until(
        lambda: not any(psutil.pid_exists(pid) for pid in pids),
        timeout=30,
        what="the workers to exit",
    )
    assert _leftovers(janitor) == []
    watchers = [p for p in psutil.process_iter(["cmdline"]) if "watcher" in str(p.info["cmdline"])]
    assert watchers == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", START_METHODS)
def test_a_program_that_exits_leaves_nothing(method: str) -> None:
    program = _start(method, "exit")
    out, err = program.communicate(timeout=100)
    assert program.returncode == 0, err
    assert err == ""
    words = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    _check_all_gone(words["JANITOR"][0], [int(pid) for pid in words["WORKERS"]])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", START_METHODS)
def test_a_program_killed_with_everything_open_leaves_nothing(method: str) -> None:
    program = _start(method, "wait")
    lines = _read_until(program, "READY")
    janitor = lines["JANITOR"][0]
    assert _leftovers(janitor)  # its objects are there while it runs
    program.send_signal(signal.SIGKILL)
    program.wait(30)
    try:
        _check_all_gone(janitor, [int(pid) for pid in lines["WORKERS"]])
    finally:
        for pipe in (program.stdout, program.stderr):
            assert pipe is not None
            pipe.close()
