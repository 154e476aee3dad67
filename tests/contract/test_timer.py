"""``corepool.Timer``: ``threading.Timer`` on a pool's worker, once or every ``interval``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

import corepool
from support import tasks
from support.waiting import wait_until


def test_a_timer_runs_its_call_once_after_its_delay_on_a_worker(pool: corepool.Pool) -> None:
    started = time.monotonic_ns()
    timer = corepool.Timer(0.2, tasks.started_at, ("tick",), pool=pool)
    timer.start()
    timer.join(timeout=30)
    tag, ran_at = timer.result(timeout=1)
    assert tag == "tick" and ran_at - started >= 0.2e9
    assert timer.runs == 1 and not timer.is_alive()


def test_a_cancelled_timer_never_runs(pool: corepool.Pool) -> None:
    timer = corepool.Timer(30, tasks.square, (3,), pool=pool)
    timer.start()
    assert timer.is_alive()
    timer.cancel()
    timer.join(timeout=30)
    assert timer.finished.is_set() and timer.runs == 0
    with pytest.raises(corepool.TaskCancelledError):
        timer.result(timeout=1)
    assert pool.statistics().tasks_done == 0


def test_an_interval_repeats_until_cancelled(pool: corepool.Pool) -> None:
    timer = corepool.Timer(0, tasks.started_at, ("tick",), interval=0.05, pool=pool)
    timer.start()
    wait_until(lambda: timer.runs >= 4, what="four runs of the timer")
    timer.cancel()
    timer.join(timeout=30)
    assert not timer.is_alive()
    runs = timer.runs
    time.sleep(0.2)  # not a synchronisation: checks that nothing more runs
    assert timer.runs == runs


def test_a_repeating_timer_stops_at_an_error(pool: corepool.Pool) -> None:
    timer = corepool.Timer(0, tasks.raise_value_error, interval=0.01, pool=pool)
    timer.start()
    timer.join(timeout=30)
    assert timer.runs == 1
    with pytest.raises(ValueError):
        timer.result()


def test_without_a_pool_a_timer_uses_a_thread_of_its_own_that_ends_with_it() -> None:
    before = threading.active_count()
    seen: list[str] = []
    timer = corepool.Timer(0.01, seen.append, ("ran",))
    timer.start()
    timer.join(timeout=30)
    assert seen == ["ran"]
    wait_until(lambda: threading.active_count() <= before, what="the timer's threads to end")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [((-1, abs), ValueError), (("1", abs), TypeError), ((1, "abs"), TypeError)],
)
def test_bad_arguments_raise_at_once(arguments: tuple[object, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        corepool.Timer(*arguments)  # type: ignore[arg-type]


def test_a_timer_starts_once(make_pool: Callable[..., corepool.Pool]) -> None:
    timer = corepool.Timer(0, abs, (-1,), pool=make_pool())
    timer.start()
    with pytest.raises(RuntimeError, match="once"):
        timer.start()
    timer.join(timeout=30)
