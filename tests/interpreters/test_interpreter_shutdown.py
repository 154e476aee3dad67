"""Ending a pool of subinterpreters closes them before it returns, but never waits for abandoned
work.

A terminated worker is reported gone at once; its host thread then closes the interpreter.  If
the program ended meanwhile, CPython 3.13 would finalize that interpreter itself while the host
thread closed it, and crash now and then at exit.  So ending the pool waits for idle
interpreters to close, and only for those: a chunk still running in an abandoned interpreter
may never end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import corepool
from corepool._backends.interpreters import interpreters_module
from support import tasks
from support.processes import run_script


def _open_interpreter_ids() -> set[int]:
    return {interp.id for interp in interpreters_module().list_all()}


def test_terminate_closes_the_idle_interpreters_before_it_returns(
    make_pool: Callable[..., corepool.Pool],
) -> None:
    threads_before = set(threading.enumerate())
    interpreters_before = _open_interpreter_ids()
    with make_pool(2) as pool:
        assert pool.map(tasks.square, range(100)) == [x * x for x in range(100)]
        assert len(_open_interpreter_ids() - interpreters_before) == 2
    # ``with`` terminated the pool: its two interpreters are closed and their threads ended.
    assert _open_interpreter_ids() <= interpreters_before
    assert set(threading.enumerate()) <= threads_before


def test_close_and_join_leave_no_interpreter_open(
    make_pool: Callable[..., corepool.Pool],
) -> None:
    interpreters_before = _open_interpreter_ids()
    pool = make_pool(2)
    assert pool.apply(tasks.square, (7,)) == 49
    pool.close()
    pool.join()
    assert _open_interpreter_ids() <= interpreters_before


ABANDONED_TASK = """\
import os
import sys
import time

import corepool


def slow(marker):
    time.sleep(3)
    with open(marker, "w"):
        pass


if __name__ == "__main__":
    marker = sys.argv[1]
    pool = corepool.Pool(1, backend="interpreters")
    running = pool.apply_async(slow, (marker,))
    time.sleep(0.5)  # the task has started in the subinterpreter
    pool.terminate()
    pool.join()
    print("ended before the task:", not os.path.exists(marker))
    while not os.path.exists(marker):  # let the abandoned task finish before exiting
        time.sleep(0.05)
    time.sleep(0.5)  # and its host thread close the interpreter
"""


def test_terminate_does_not_wait_for_a_task_running_in_an_abandoned_interpreter(
    tmp_path: Path,
) -> None:
    done = run_script(tmp_path / "abandon.py", ABANDONED_TASK, str(tmp_path / "finished"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ended before the task: True"]
