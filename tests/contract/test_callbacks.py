"""Callbacks run in the parent, on one results thread, in completion order."""

from __future__ import annotations

import logging
import os
import threading

import pytest

import corepool
from support import tasks


def test_callbacks_run_in_the_parent_on_the_results_thread(pool: corepool.Pool) -> None:
    seen: list[tuple[int, str, int]] = []
    done = threading.Event()

    def record(value: int) -> None:
        seen.append((os.getpid(), threading.current_thread().name, value))
        if len(seen) == 20:
            done.set()

    for i in range(20):
        pool.apply_async(tasks.square, (i,), callback=record)
    assert done.wait(30)
    assert {pid for pid, _, _ in seen} == {os.getpid()}
    assert {name for _, name, _ in seen} == {"corepool-results"}
    assert sorted(value for _, _, value in seen) == [i * i for i in range(20)]


def test_callbacks_follow_completion_order(pool: corepool.Pool, gate: object) -> None:
    order: list[str] = []
    done = threading.Event()

    def record(value: str) -> None:
        order.append(value)
        if len(order) == 2:
            done.set()

    pool.apply_async(tasks.wait_for, (gate, "slow"), callback=record)
    fast = pool.apply_async(tasks.identity, ("fast",), callback=record)
    fast.get(timeout=30)
    gate.set()  # type: ignore[attr-defined]
    assert done.wait(30)
    assert order == ["fast", "slow"]


def test_callback_finishes_before_get_returns(pool: corepool.Pool) -> None:
    seen: list[int] = []
    result = pool.apply_async(tasks.square, (5,), callback=seen.append)
    assert result.get(timeout=30) == 25
    assert seen == [25]


def test_error_callback_gets_the_exception(pool: corepool.Pool) -> None:
    errors: list[BaseException] = []
    result = pool.apply_async(tasks.raise_value_error, (1,), error_callback=errors.append)
    with pytest.raises(ValueError):
        result.get(timeout=30)
    assert len(errors) == 1
    assert isinstance(errors[0], ValueError)


def test_a_raising_callback_is_reported_and_the_pool_lives_on(
    pool: corepool.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(_: object) -> None:
        raise RuntimeError("callback bug")

    with caplog.at_level(logging.ERROR, logger="corepool"):
        result = pool.apply_async(tasks.square, (3,), callback=explode)
        assert result.get(timeout=30) == 9
    assert any("callback" in record.message for record in caplog.records)
    assert any(
        record.exc_info and "callback bug" in str(record.exc_info[1]) for record in caplog.records
    )
    assert pool.apply(tasks.square, (4,)) == 16
    assert pool.map(tasks.square, range(5)) == [0, 1, 4, 9, 16]


def test_map_async_error_callback(pool: corepool.Pool) -> None:
    errors: list[BaseException] = []
    result = pool.map_async(tasks.fail_on, range(10), error_callback=errors.append)
    with pytest.raises(ValueError, match="item 3 is bad"):
        result.get(timeout=30)
    assert len(errors) == 1
