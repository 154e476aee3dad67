"""``Executor.map(..., buffersize=k)``: at most k chunks read ahead of the consumer, results in
order, an error raised at its item, and leaving early cancels what has not started."""

from __future__ import annotations

import concurrent.futures
import functools
import gc
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool
from support import tasks
from support.waiting import wait_until


class CountingSource:
    """An endless iterator over 0, 1, 2, ... that counts how far it was read."""

    def __init__(self) -> None:
        self.pulled = 0
        self._numbers = itertools.count()

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        self.pulled += 1
        return next(self._numbers)


def _idle(executor: Any) -> bool:
    stats = executor.statistics()
    return bool(stats.tasks_in_flight == 0 and stats.tasks_queued == 0)


def _no_feeder() -> bool:
    return not any(thread.name == "corepool-feeder" for thread in threading.enumerate())


def test_buffersize_counts_chunks_read_ahead_of_the_consumer(
    make_executor: Callable[..., Any],
) -> None:
    executor, source = make_executor(), CountingSource()
    results = executor.map(tasks.square, source, chunksize=5, buffersize=3)
    assert [next(results) for _ in range(12)] == [x * x for x in range(12)]
    # Items 10-14 (the third chunk) are being handed out: three chunks were taken by the
    # consumer, and three more may be read ahead of it, no further.
    wait_until(lambda: source.pulled == (3 + 3) * 5, what="the buffer to fill")
    wait_until(lambda: _idle(executor), what="the workers to finish what was read")
    assert source.pulled == 30
    assert [next(results) for _ in range(20)] == [x * x for x in range(12, 32)]
    results.close()


def _take_200_of_automatic_chunks(
    make_executor: Callable[..., Any], buffersize: int
) -> tuple[CountingSource, Any]:
    """Take 200 results of ``map(square, endless, buffersize)`` with automatic chunks of at
    most 50 items, and wait until the workers finished what was read ahead."""
    executor = make_executor(settings=corepool.Settings(max_chunk_items=50))
    source = CountingSource()
    results = executor.map(tasks.square, source, buffersize=buffersize)
    assert [next(results) for _ in range(200)] == [x * x for x in range(200)]
    wait_until(lambda: _idle(executor), what="the workers to finish what was read")
    return source, results


def test_without_chunksize_the_buffer_holds_automatic_chunks(
    make_executor: Callable[..., Any],
) -> None:
    source, results = _take_200_of_automatic_chunks(make_executor, buffersize=4)
    # At most the chunk being handed out and 4 more, each of at most 50 items.
    assert source.pulled <= 200 + (1 + 4) * 50
    results.close()


def test_a_wide_buffer_of_automatic_chunks_holds_no_more_items_than_the_default_window(
    make_executor: Callable[..., Any],
) -> None:
    # 2 workers: the default window is 8 chunks, here of at most 50 items, so 400 items; a wide
    # buffer may hold four such windows.  A buffersize of 160 chunks cuts them to 10 items each
    # instead of letting 8,000 in.
    source, results = _take_200_of_automatic_chunks(make_executor, buffersize=160)
    assert source.pulled <= 200 + (1 + 160) * 10
    assert source.pulled > 200 + 40  # still read ahead, in chunks of several items
    results.close()


def test_an_error_is_raised_at_its_item_and_ends_the_map(
    make_executor: Callable[..., Any],
) -> None:
    results = make_executor().map(tasks.fail_on, iter(range(50)), chunksize=3, buffersize=2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="item 3 is bad"):
        next(results)
    with pytest.raises(StopIteration):  # as in the standard library
        next(results)


def test_leaving_early_cancels_what_has_not_started(
    make_executor: Callable[..., Any], gate: Any
) -> None:
    executor, source = make_executor(), CountingSource()
    results = executor.map(functools.partial(tasks.wait_for, gate), source, buffersize=6)
    # Two workers wait on the gate with items 0 and 1; the rest of the buffer waits for them.
    wait_until(lambda: executor.statistics().tasks_queued > 0, what="items to queue up")
    results.close()
    wait_until(_no_feeder, what="the input to stop being read")
    wait_until(lambda: executor.statistics().tasks_queued == 0, what="pending items cancelled")
    pulled = source.pulled
    gate.set()
    wait_until(lambda: _idle(executor), what="the running items to finish")
    assert list(executor.map(tasks.square, range(5), buffersize=2)) == [0, 1, 4, 9, 16]
    assert source.pulled == pulled <= 6 + 1


def test_breaking_out_of_a_for_loop_stops_reading(make_executor: Callable[..., Any]) -> None:
    executor, source = make_executor(), CountingSource()
    for value in executor.map(tasks.square, source, chunksize=4, buffersize=2):
        if value > 100:
            break
    gc.collect()
    wait_until(_no_feeder, what="the input to stop being read")
    wait_until(lambda: _idle(executor))
    assert source.pulled <= 12 + 2 * 4


def test_timeout_still_counts_from_the_call(make_executor: Callable[..., Any], gate: Any) -> None:
    results = make_executor().map(
        functools.partial(tasks.wait_for, gate), range(4), timeout=0.1, buffersize=2
    )
    with pytest.raises(concurrent.futures.TimeoutError):
        next(results)
    gate.set()
