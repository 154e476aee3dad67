"""200 cycles of create, use, close leave no descriptors, threads, processes or /dev/shm files."""

from __future__ import annotations

import contextlib
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
    the tree's janitor id (segments) or a pid (spools); multiprocessing's start with ``sem.mp-``
    or ``mp-`` and say nothing of their maker, so those another process has mapped are theirs.
    """
    janitor = os.environ.get("COREPOOL_JANITOR", "").rsplit("-", 1)[-1]
    tree = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
    try:
        names = os.listdir("/dev/shm")
    except FileNotFoundError:  # pragma: no cover - not Linux
        return set()
    ours = {name for name in names if janitor and janitor in name}
    ours |= {name for name in names if any(f"-{pid}-" in name for pid in tree)}
    anonymous = {name for name in names if name.startswith(("sem.mp-", "mp-"))}
    return ours | (anonymous - _mapped_outside(tree))


def _mapped_outside(tree: set[int]) -> set[str]:
    """Names in /dev/shm that processes outside ``tree`` have mapped."""
    found = set()
    for pid in psutil.pids():
        if pid in tree:
            continue
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
                found.update(
                    line.rsplit("/dev/shm/", 1)[1].split()[0]
                    for line in maps
                    if "/dev/shm/" in line
                )
        except OSError:
            pass
    return found


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
    # Waited for: another program's names (unattributable once unmapped) go with its own cleanup.
    with contextlib.suppress(AssertionError):
        wait_until(lambda: _shm_entries() <= shm, timeout=10)
    assert _shm_entries() <= shm
