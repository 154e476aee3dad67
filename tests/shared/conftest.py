"""Fixtures for shared-state tests: start methods, and a leak check of the memory file system."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator

import psutil
import pytest

from corepool.shared._spool import shared_root

START_METHODS = [
    method
    for method in ("fork", "forkserver", "spawn")
    if method in multiprocessing.get_all_start_methods()
]


@pytest.fixture(params=START_METHODS)
def mp_context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    """Each test using it runs once per start method."""
    return multiprocessing.get_context(request.param)


def _wait_for_watchers_of_dead_owners() -> None:
    """A killed owner's spool is removed by its watcher: wait for those watchers to finish."""
    watchers = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "corepool-spool-watcher" in cmdline:
            owner = int(os.path.basename(cmdline[-1]).split("-")[1])
            if not psutil.pid_exists(owner):
                watchers.append(process)
    _, alive = psutil.wait_procs(watchers, timeout=10)
    assert not alive, f"spool watchers did not finish: {alive}"


def _spools() -> set[str]:
    return {name for name in os.listdir(shared_root()) if name.startswith("corepool-")}


@pytest.fixture(autouse=True, scope="module")
def memory_file_system_is_clean() -> Iterator[None]:
    """After each module: nothing of ours left in /dev/shm, crash tests included.

    Our own spool may stay (it lives as long as this process) but must be empty.
    """
    before = _spools()
    yield
    _wait_for_watchers_of_dead_owners()
    left = []
    for name in sorted(_spools()):
        path = os.path.join(shared_root(), name)
        if int(name.split("-")[1]) == os.getpid():
            left.extend(os.path.join(path, entry) for entry in os.listdir(path))
        elif name not in before:
            left.append(path)
    assert left == [], f"left in {shared_root()}: {left}"
