"""The engine against a backend that breaks each rule of the contract (``_backends/base.py``).

Whatever the backend does, a call ends (with a result or a clear error), the pool can be closed
and joined, and nothing is run again without bound.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fake_backend import FakeBackend, Rules

import corepool
from corepool import (
    CorepoolError,
    TaskCancelledError,
    TaskTimeoutError,
    WorkerLostError,
    WorkerStartError,
)
from corepool._engine.engine import Engine
from corepool._engine.requests import MapRequest, TaskRequest
from corepool._engine.sinks import ListSink, SingleSink
from corepool._engine.tasks import TaskOptions
from corepool.async_results import AsyncResult, MapResult
from corepool.settings import Settings

FAST = Settings(shutdown_grace_seconds=0.1, max_unstarted_losses=3)

OpenEngine = Callable[..., tuple[Engine, FakeBackend]]


@pytest.fixture
def open_engine() -> Iterator[OpenEngine]:
    engines: list[Engine] = []

    def open_(rules: Rules, size: int = 1, settings: Settings = FAST) -> tuple[Engine, FakeBackend]:
        backend = FakeBackend(rules)
        engine = Engine(backend, size, settings)
        engines.append(engine)
        return engine, backend

    yield open_
    for engine in engines:
        engine.terminate()
        assert engine.join(timeout=10), "the engine did not finish"


def apply(engine: Engine, fn: Callable[..., Any], *args: Any, **options: Any) -> AsyncResult[Any]:
    result: AsyncResult[Any] = AsyncResult(None, None)
    sink = SingleSink(result._resolve_value, result._resolve_error)
    request = TaskRequest.of("apply", fn, args, None, TaskOptions(**options))
    result._job = engine.submit_task(request, sink)
    return result


def map_(engine: Engine, fn: Callable[..., Any], items: list[Any]) -> MapResult[Any]:
    result: MapResult[Any] = MapResult(None, None)
    sink = ListSink(len(items), result._resolve_value, result._resolve_error)
    result._job = engine.submit_map(MapRequest("map", fn, items), sink)
    return result


def test_a_well_behaved_backend_runs_calls(open_engine: OpenEngine) -> None:
    engine, _ = open_engine(Rules(), size=2)
    assert apply(engine, operator.mul, 6, 7).get(timeout=10) == 42
    assert map_(engine, abs, list(range(-50, 0))).get(timeout=10) == list(range(50, 0, -1))
    assert engine.statistics().backend == "fake"
    engine.close()
    assert engine.join(timeout=10)


def test_a_chunk_lost_before_it_was_marked_runs_again_a_bounded_number_of_times(
    open_engine: OpenEngine,
) -> None:
    engine, backend = open_engine(Rules(dies_before_marking=True))
    result = apply(engine, abs, -1)
    with pytest.raises(WorkerLostError, match="before it started"):
        result.get(timeout=10)
    # The first run and max_unstarted_losses runs again: never more (this once looped forever).
    assert backend.counters.runs == FAST.max_unstarted_losses + 1


def test_a_lost_unstarted_chunk_does_not_use_its_retries(open_engine: OpenEngine) -> None:
    engine, backend = open_engine(Rules(dies_before_marking=True))
    with pytest.raises(WorkerLostError):
        apply(engine, abs, -1, retries=10).get(timeout=10)
    assert backend.counters.runs == FAST.max_unstarted_losses + 1


def test_a_worker_dying_on_a_running_task_fails_it_after_its_retries(
    open_engine: OpenEngine,
) -> None:
    engine, backend = open_engine(Rules(dies_while_running=True))
    with pytest.raises(WorkerLostError, match="running"):
        apply(engine, abs, -1, retries=2).get(timeout=10)
    assert backend.counters.runs == 3


def test_a_worker_that_never_says_ready_ends_with_the_start_timeout(
    open_engine: OpenEngine,
) -> None:
    settings = FAST.replace(worker_start_timeout=0.05, max_start_failures=3)
    engine, backend = open_engine(Rules(never_ready=True), settings=settings)
    with pytest.raises(WorkerStartError):
        apply(engine, abs, -1).get(timeout=10)
    assert backend.counters.started == 3
    assert backend.counters.runs == 0


def test_a_pool_whose_workers_never_get_ready_still_terminates(open_engine: OpenEngine) -> None:
    engine, _ = open_engine(Rules(never_ready=True))
    result = apply(engine, abs, -1)
    engine.terminate()
    with pytest.raises(TaskCancelledError):
        result.get(timeout=10)
    assert engine.join(timeout=10)


def test_a_second_exit_report_is_ignored(open_engine: OpenEngine) -> None:
    engine, backend = open_engine(Rules(exits_twice=True, dies_while_running=True))
    with pytest.raises(WorkerLostError):
        apply(engine, abs, -1).get(timeout=10)
    engine.close()
    assert engine.join(timeout=10)
    assert engine.statistics().workers_replaced == 1
    assert backend.counters.released == backend.counters.started


def test_a_kill_that_never_ends_in_an_exit_does_not_hang(open_engine: OpenEngine) -> None:
    engine, _ = open_engine(Rules(hangs=True, kill_without_exit=True))
    with pytest.raises(TaskTimeoutError):
        apply(engine, abs, -1, timeout=0.05).get(timeout=10)
    engine.close()
    assert engine.join(timeout=10)


def test_terminate_with_workers_that_ignore_it_still_joins(open_engine: OpenEngine) -> None:
    engine, _ = open_engine(Rules(hangs=True, kill_without_exit=True), size=2)
    result = apply(engine, abs, -1)
    engine.terminate()
    with pytest.raises(TaskCancelledError):
        result.get(timeout=10)
    assert engine.join(timeout=10)


def test_a_backend_that_cannot_kill_says_the_task_may_run_on(open_engine: OpenEngine) -> None:
    engine, _ = open_engine(Rules(hangs=True, kills_workers=False, kill_without_exit=True))
    with pytest.raises(TaskTimeoutError) as caught:
        apply(engine, abs, -1, timeout=0.05).get(timeout=10)
    notes = getattr(caught.value, "__notes__", [])
    if notes:  # Python 3.11+
        assert "the task may run on" in notes[0]


def test_an_error_inside_the_dispatcher_fails_every_waiting_call_with_its_cause(
    open_engine: OpenEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine, _ = open_engine(Rules(run_raises=True), size=1)
    results = [apply(engine, abs, -1, delay=0.2), apply(engine, abs, -2, delay=0.2)]
    for result in results:
        with pytest.raises(CorepoolError, match="internal error") as caught:
            result.get(timeout=10)
        assert isinstance(caught.value.__cause__, RuntimeError)
    assert "run() is broken" in caplog.text
    with pytest.raises(corepool.PoolClosedError):
        apply(engine, abs, -3)


def test_a_memory_limit_needs_a_backend_that_isolates_workers() -> None:
    with pytest.raises(ValueError, match="needs worker processes"):
        corepool.Pool(1, backend="threads", max_memory_per_worker="1GB")


def test_an_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'processes', 'threads'"):
        corepool.Pool(1, backend="gpu")
