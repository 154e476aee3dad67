"""Running a Python program that uses corepool in a child process, and checking for orphans."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

TESTS_DIR = Path(__file__).resolve().parent.parent

START_METHODS = [
    method
    for method in ("fork", "forkserver", "spawn")
    if method in multiprocessing.get_all_start_methods()
]
"""The start methods this platform has."""

PRELUDE = f"""
import os, sys, signal, time
sys.path.insert(0, {str(TESTS_DIR)!r})
import corepool
from support import faults, tasks

def report_workers(pool):
    pids = [w.pid for w in pool.statistics().workers]
    print("WORKERS", *pids, flush=True)
"""


def run_script(
    script: Path, source: str, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Write ``source`` to ``script`` and run it as a program's main script (a real file, as
    what a worker re-imports or a pool pickles by value from ``__main__`` must be), with this
    process's ``sys.path``; its output captured, bounded by ``timeout``."""
    script.write_text(source)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


def python_output(args: list[str], stdin: str | None = None, timeout: float = 60) -> str:
    """The stripped standard output of ``python *args`` (``stdin`` fed to it), which must exit
    with 0 (else the assertion shows its standard error)."""
    completed = subprocess.run(
        [sys.executable, *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def start_program(body: str) -> subprocess.Popen[str]:
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_worker_pids(program: subprocess.Popen[str]) -> list[int]:
    assert program.stdout is not None
    for line in program.stdout:
        if line.startswith("WORKERS"):
            return [int(pid) for pid in line.split()[1:]]
    raise AssertionError(f"the program printed no worker pids; stderr: {_stderr(program)}")


def wait_for_line(program: subprocess.Popen[str], prefix: str) -> str:
    assert program.stdout is not None
    for line in program.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the program never printed {prefix!r}; stderr: {_stderr(program)}")


def _stderr(program: subprocess.Popen[str]) -> str:
    try:
        _, err = program.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        program.kill()
        _, err = program.communicate()
    return err


def is_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids: list[int], timeout: float) -> float:
    """Seconds until every pid is gone; fails the test after ``timeout``."""
    started = time.monotonic()
    while not all(is_gone(pid) for pid in pids):
        if time.monotonic() - started > timeout:
            alive = [pid for pid in pids if not is_gone(pid)]
            for pid in alive:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            raise AssertionError(f"processes {alive} outlived their parent by {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - started
