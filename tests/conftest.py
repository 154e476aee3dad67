"""Fixtures shared by the whole suite.

``backend`` runs a test once per backend; ``make_pool`` / ``make_executor`` build pools that are
always terminated and joined, so a failing test cannot leak workers into the next one.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.managers
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest

import corepool

BACKENDS = ("processes", "threads")

# A suite started in the background by a shell without job control (``sh -c '... &'``) inherits
# SIGINT ignored, and so would every program a test starts: Python installs no handler for an
# ignored SIGINT, and the tests of Ctrl-C would send one to a program that cannot receive it.
# Programs started from a terminal always can; so may the suite's.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_pool(backend: str) -> Iterator[Callable[..., corepool.Pool]]:
    pools: list[corepool.Pool] = []

    def make(processes: int = 2, **kwargs: Any) -> corepool.Pool:
        pool = corepool.Pool(processes, backend=backend, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.terminate()
        pool.join()


@pytest.fixture
def pool(make_pool: Callable[..., corepool.Pool]) -> corepool.Pool:
    return make_pool()


@pytest.fixture
def make_executor(backend: str) -> Iterator[Callable[..., Any]]:
    executors: list[Any] = []

    def make(max_workers: int = 2, **kwargs: Any) -> Any:
        kind = (
            corepool.ProcessPoolExecutor if backend == "processes" else corepool.ThreadPoolExecutor
        )
        executor = kind(max_workers, **kwargs)
        executors.append(executor)
        return executor

    yield make
    for executor in executors:
        executor.shutdown(wait=True, cancel_futures=True)


_LASTING_HELPERS = ("forkserver", "resource_tracker")
_manager_pids: set[int] = set()


@pytest.fixture(scope="session")
def manager() -> Iterator[multiprocessing.managers.SyncManager]:
    """A multiprocessing Manager, for events that gate tasks in any process."""
    with multiprocessing.get_context("spawn").Manager() as started:
        _manager_pids.add(started._process.pid)  # type: ignore[attr-defined]
        yield started


def _descendants() -> set[int]:
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if child.pid not in _manager_pids and not any(h in cmdline for h in _LASTING_HELPERS):
            found.add(child.pid)
    return found


@pytest.fixture(autouse=True)
def no_orphan_processes() -> Iterator[None]:
    """Every test must leave no worker process behind (pools are terminated and joined)."""
    before = _descendants()
    yield
    deadline = time.monotonic() + 10
    while (left := _descendants() - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not left, f"processes left running after the test: {sorted(left)}"


@pytest.fixture
def gate(backend: str, manager: multiprocessing.managers.SyncManager) -> Any:
    """An event a task can wait on, reachable from the backend's workers."""
    return threading.Event() if backend == "threads" else manager.Event()


@pytest.fixture
def started(backend: str, manager: multiprocessing.managers.SyncManager) -> Any:
    """A second event, for a task to say it has started."""
    return threading.Event() if backend == "threads" else manager.Event()
