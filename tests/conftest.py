"""Fixtures shared by the whole suite.

``backend`` runs a test once per backend; ``make_pool`` / ``make_executor`` build pools that are
always terminated and joined, so a failing test cannot leak workers into the next one.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.managers
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool

BACKENDS = ("processes", "threads")


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


@pytest.fixture(scope="session")
def manager() -> Iterator[multiprocessing.managers.SyncManager]:
    """A multiprocessing Manager, for events that gate tasks in any process."""
    with multiprocessing.get_context("spawn").Manager() as started:
        yield started


@pytest.fixture
def gate(backend: str, manager: multiprocessing.managers.SyncManager) -> Any:
    """An event a task can wait on, reachable from the backend's workers."""
    return threading.Event() if backend == "threads" else manager.Event()


@pytest.fixture
def started(backend: str, manager: multiprocessing.managers.SyncManager) -> Any:
    """A second event, for a task to say it has started."""
    return threading.Event() if backend == "threads" else manager.Event()
