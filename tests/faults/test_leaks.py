"""200 cycles of create, use, close leave no descriptors, threads, processes or /dev/shm files."""

from __future__ import annotations

import os
import threading

import psutil
import pytest

import corepool
from support import tasks
from support.waiting import wait_until

CYCLES = 200


def _shm_entries() -> set[str]:
    """Entries of /dev/shm this process tree could have made.

    Other programs on the machine may create files there meanwhile: corepool's own names carry
    the tree's janitor id (segments) or a pid (spools), multiprocessing's start with ``sem.mp-``
    or ``mp-``; count only those.
    """
    janitor = os.environ.get("COREPOOL_JANITOR", "").rsplit("-", 1)[-1]
    pids = {str(os.getpid())} | {str(p.pid) for p in psutil.Process().children(recursive=True)}
    try:
        names = os.listdir("/dev/shm")
    except FileNotFoundError:  # pragma: no cover - not Linux
        return set()
    return {
        name
        for name in names
        if (janitor and janitor in name)
        or any(f"-{pid}-" in name for pid in pids)
        or name.startswith(("sem.mp-", "mp-"))
    }


def _descendants() -> set[int]:
    helpers = ("forkserver", "resource_tracker")
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if not any(name in " ".join(child.cmdline()) for name in helpers):
                found.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_cycles_leave_nothing_behind(backend: str) -> None:
    # One cycle first, so that lasting helpers (the forkserver) exist before counting.
    with corepool.Pool(1, backend=backend) as pool:
        pool.apply(tasks.square, (1,))
    me = psutil.Process()
    fds, threads = me.num_fds(), threading.active_count()
    children, shm = _descendants(), _shm_entries()
    for cycle in range(CYCLES):
        pool = corepool.Pool(1, backend=backend)
        assert pool.map(tasks.square, range(5)) == [0, 1, 4, 9, 16]
        if cycle % 2:
            pool.close()
        else:
            pool.terminate()
        pool.join()
    executor = corepool.ProcessPoolExecutor(1) if backend == "processes" else None
    if executor is not None:
        with executor:
            executor.submit(tasks.square, 2).result(timeout=30)
    wait_until(lambda: _descendants() <= children, what="worker processes to be gone")
    assert me.num_fds() <= fds
    assert threading.active_count() <= threads
    assert _shm_entries() <= shm
