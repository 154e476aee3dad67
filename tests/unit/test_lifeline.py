"""A worker's lifeline (``_worker/lifeline.py``): the worker goes when the pipe's writer does.

Each test forks a real child that watches a pipe, then closes the pipe's write end the way a dying
parent's kernel would, and reads how the child ended.  The pool-level proof (SIGKILL the program,
no worker survives) is in ``tests/faults/test_signals.py``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, Pipe

import pytest

from corepool._worker import lifeline

pytestmark = pytest.mark.timeout(60)

_LINUX_ONLY = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="F_SETSIG is Linux-only; elsewhere workers use the thread tested below",
)


def _child_watching(
    reader: Connection, writer: Connection, then: Callable[[], None], watch: Callable[..., None]
) -> int:
    """Fork a child that watches ``reader`` and then runs ``then``; returns its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            writer.close()
            watch(reader)
            then()
            code = 0
        finally:
            os._exit(code)
    return pid


def _status_within(pid: int, seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    return None


def _statuses_once_the_writer_goes(
    pids: list[int], reader: Connection, writer: Connection
) -> list[int | None]:
    """Close both ends here (the children keep the reader), then each child's wait status, or
    None for a child still alive 10 s later (killed then: none outlives the test)."""
    time.sleep(0.3)  # not synchronisation: lets the children arm their lifelines and go on
    writer.close()
    reader.close()
    statuses = [_status_within(pid, 10) for pid in pids]
    for pid, status in zip(pids, statuses, strict=True):
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return statuses


def _busy_in_c_code_holding_the_gil() -> None:
    # One long bytecode: a C loop that never releases the GIL, so no thread of this process runs.
    sum(range(10**10))


def _killed(status: int | None) -> bool:
    return status is not None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def _exited_parent_gone(status: int | None) -> bool:
    return (
        status is not None
        and os.WIFEXITED(status)
        and os.WEXITSTATUS(status) == lifeline.EXIT_PARENT_GONE
    )


@_LINUX_ONLY
def test_the_kernel_kills_a_worker_busy_in_c_code_when_the_writer_goes() -> None:
    reader, writer = Pipe(duplex=False)
    pid = _child_watching(reader, writer, _busy_in_c_code_holding_the_gil, lifeline.watch_parent)
    [status] = _statuses_once_the_writer_goes([pid], reader, writer)
    assert _killed(status), f"wait status {status} (None: outlived its lifeline's writer by 10 s)"


@_LINUX_ONLY
def test_each_worker_of_a_shared_pipe_is_killed_not_only_the_last_to_arm() -> None:
    # The pool's workers share one description of the pipe, which has one owner: each worker
    # must arm a description of its own.
    reader, writer = Pipe(duplex=False)
    pids = [
        _child_watching(reader, writer, lambda: time.sleep(60), lifeline.watch_parent)
        for _ in range(3)
    ]
    statuses = _statuses_once_the_writer_goes(pids, reader, writer)
    assert all(_killed(status) for status in statuses), statuses


def test_a_worker_whose_parent_went_before_it_armed_exits_at_once() -> None:
    reader, writer = Pipe(duplex=False)
    writer.close()  # end-of-file has already happened: no signal will come for it
    pid = _child_watching(reader, writer, lambda: time.sleep(60), lifeline.watch_parent)
    [status] = _statuses_once_the_writer_goes([pid], reader, writer)
    assert _exited_parent_gone(status), f"wait status {status}"


def test_without_the_kernels_help_a_thread_waits_and_exits() -> None:
    def watch_with_a_thread(reader: Connection) -> None:
        lifeline._wait_in_a_thread(reader)

    reader, writer = Pipe(duplex=False)
    pid = _child_watching(reader, writer, lambda: time.sleep(60), watch_with_a_thread)
    [status] = _statuses_once_the_writer_goes([pid], reader, writer)
    assert _exited_parent_gone(status), f"wait status {status}"
