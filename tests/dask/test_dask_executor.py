"""ProcessPoolExecutor(backend="dask"): real concurrent.futures Futures on a Dask cluster."""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs: pip install 'corepool[dask]'")

import dask_tasks as tasks

import corepool


def test_submit_returns_a_standard_future(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    futures = [executor.submit(tasks.add, x, 1) for x in range(10)]
    assert isinstance(futures[0], concurrent.futures.Future)
    done, _ = concurrent.futures.wait(futures, timeout=30)
    assert sorted(future.result() for future in done) == list(range(1, 11))


def test_submit_passes_every_keyword_to_the_function(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    future = executor.submit(tasks.keywords, 1, key="k", retries=2, workers="w")
    assert future.result(timeout=30) == (1, {"key": "k", "retries": 2, "workers": "w"})


def test_executor_map_and_errors(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    assert list(executor.map(tasks.add, range(100), range(100))) == [2 * x for x in range(100)]
    future = executor.submit(tasks.fails_on, 3)
    with pytest.raises(ValueError, match="bad item 3") as caught:
        future.result(timeout=30)
    assert isinstance(caught.value.__cause__, concurrent.futures.process._RemoteTraceback)


def test_the_executor_is_as_large_as_the_cluster(make_executor: Callable[..., Any]) -> None:
    assert make_executor()._max_workers == 2
    assert make_executor(5)._max_workers == 5


def test_only_processes_or_dask() -> None:
    with pytest.raises(ValueError, match="'processes' or 'dask'"):
        corepool.ProcessPoolExecutor(backend="threads")
