"""A pool under ``fork`` forks its first workers as ``multiprocessing.Pool`` does: on the thread
creating it, before the pool has a thread of its own (``ProcessBackend.launch_ahead``)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap

import pytest

import corepool

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)

PROGRAM = textwrap.dedent(
    """
    import os, threading
    import corepool

    def square(x):
        return x * x

    if __name__ == "__main__":
        threads_at_fork = []
        os.register_at_fork(before=lambda: threads_at_fork.append(threading.active_count()))
        with corepool.Pool(2, context="fork") as pool:
            print(pool.map(square, range(4)), threads_at_fork)
    """
)


def test_a_single_threaded_program_forks_its_workers_with_one_thread() -> None:
    # The pool's loop thread forked the workers, beside the program's main thread: Python 3.12+
    # then warned a program that has no thread of its own that "this process is multi-threaded,
    # use of fork() may lead to deadlocks in the child", where multiprocessing.Pool(fork) says
    # nothing.
    completed = subprocess.run(
        [sys.executable, "-W", "default", "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[0, 1, 4, 9] [1, 1]"
    assert "multi-threaded" not in completed.stderr, completed.stderr


@pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="reads the workers' open descriptors in /proc"
)
def test_a_forked_worker_holds_no_other_workers_channel() -> None:
    # A worker forked after another inherits the parent's end of that one's channel unless it
    # closes it; held open there, the channel would never report its end to its own worker.
    with corepool.Pool(3, context="fork") as pool:
        pids = {pid for pid in pool.map(_pid_after_a_nap, range(6), chunksize=1)}
        assert len(pids) == 3
        engine = pool._engine
        assert engine is not None
        parent_ends = {
            f"socket:[{os.fstat(worker.channel_fd).st_ino}]"
            for worker in engine.backend._workers.values()  # type: ignore[attr-defined]
        }
        assert len(parent_ends) == 3
        for pid in pids:
            held = {_link(pid, fd) for fd in os.listdir(f"/proc/{pid}/fd")}
            assert not held & parent_ends, f"worker {pid} holds {held & parent_ends}"


def _pid_after_a_nap(_: int) -> int:
    import time

    time.sleep(0.2)  # every worker takes some
    return os.getpid()


def _link(pid: int, fd: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:  # closed meanwhile
        return ""
