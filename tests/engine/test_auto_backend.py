"""``backend="auto"``: threads or processes from what the first tasks do."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest

import corepool
from corepool._backends.auto_choice import Observation, choose
from support import tasks


@pytest.fixture
def auto_pool() -> Iterator[corepool.Pool]:
    pool = corepool.Pool(2, backend="auto")
    yield pool
    pool.terminate()
    pool.join()


def test_cpu_bound_python_moves_to_processes(auto_pool: corepool.Pool) -> None:
    assert auto_pool.map(tasks.python_loop, range(40)) == [tasks.python_loop(n) for n in range(40)]
    statistics = auto_pool.statistics()
    assert statistics.backend_choice is not None
    assert statistics.backend_choice.startswith("processes"), statistics.backend_choice
    assert statistics.backend == "processes"
    assert all(
        worker.pid is not None for worker in statistics.workers if worker.state != "stopping"
    )


def test_waiting_stays_on_threads(auto_pool: corepool.Pool) -> None:
    assert auto_pool.map(tasks.sleep_then, [0.01] * 40) == [None] * 40
    choice = auto_pool.statistics().backend_choice
    assert choice is not None and choice.startswith("threads"), choice
    assert auto_pool.statistics().backend == "threads"


def test_numpy_that_releases_the_gil_stays_on_threads(auto_pool: corepool.Pool) -> None:
    pytest.importorskip("numpy")
    assert len(auto_pool.map(tasks.matrix_power, range(40))) == 40
    choice = auto_pool.statistics().backend_choice
    assert choice is not None and choice.startswith("threads"), choice


def test_free_threaded_python_keeps_cpu_work_on_threads(
    auto_pool: corepool.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    auto_pool.map(tasks.python_loop, range(40))
    choice = auto_pool.statistics().backend_choice
    assert choice is not None and choice.startswith("threads: free-threaded"), choice


def test_the_switch_loses_and_repeats_no_task(auto_pool: corepool.Pool) -> None:
    counter = corepool.Value("i", 0)
    results = auto_pool.starmap(tasks.counted_python_loop, [(counter, n) for n in range(300)])
    assert results == [tasks.python_loop(n, 50_000) for n in range(300)]
    assert counter.value == 300
    choice = auto_pool.statistics().backend_choice
    assert choice is not None and choice.startswith("processes"), choice


def test_the_choice_is_logged(auto_pool: corepool.Pool, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="corepool"):
        auto_pool.map(tasks.sleep_then, [0.01] * 30)
    assert "backend='auto' chose threads" in caplog.text


def test_an_executor_chooses_too() -> None:
    with corepool.Executor(2) as executor:
        assert list(executor.map(tasks.python_loop, range(20))) == [
            tasks.python_loop(n) for n in range(20)
        ]
        choice = executor.statistics().backend_choice
    assert choice is not None and choice.startswith("processes"), choice


@pytest.mark.parametrize(
    ("seen", "backend", "words"),
    [
        (Observation(8, 0.2, 0.19, 0.9), "processes", "CPU-bound Python"),
        (Observation(8, 0.2, 0.10, 0.9), "processes", "CPU-bound Python"),  # 2 threads, 50 % CPU
        (Observation(8, 0.2, 0.002, 0.02), "threads", "waiting"),
        (Observation(8, 0.2, 0.19, 0.03), "threads", "GIL released"),
        (Observation(8, 0.2, 0.19, 0.9, gil_enabled=False), "threads", "free-threaded"),
        (Observation(8, 0.2, 0.19, 0.9, picklable=False), "threads", "cannot be pickled"),
        (Observation(8, 0.2, 0.19, None), "threads", "GIL released"),
        (Observation(8, 0.2, 0.19, 0.9, pickle_seconds=0.5, bytes=10**8), "threads", "pickling"),
    ],
)
def test_the_rule(seen: Observation, backend: str, words: str) -> None:
    choice = choose(seen)
    assert choice.backend == backend and words in choice.reason
