"""Lazy input with a bounded window: endless generators, pausing consumers, abandoned iterators."""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Callable, Iterator

import pytest

import corepool
from support import tasks
from support.waiting import wait_until


class CountingSource:
    """An iterator over 0, 1, 2, ... that counts how far it was read."""

    def __init__(self, stop: int | None = None) -> None:
        self.pulled = 0
        self._numbers = itertools.count() if stop is None else iter(range(stop))

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        value = next(self._numbers)
        self.pulled += 1
        return value


def _idle(pool: corepool.Pool) -> bool:
    stats = pool.statistics()
    return stats.tasks_in_flight == 0 and stats.tasks_queued == 0


def test_endless_generator_with_a_pausing_consumer(
    make_pool: Callable[..., corepool.Pool],
) -> None:
    # No queues in the workers, so the window keeps its base width (see the next test).
    pool = make_pool(settings=corepool.Settings(worker_queue_seconds=0))
    source = CountingSource()
    chunksize = 5
    results = pool.imap(tasks.square, source, chunksize=chunksize)
    assert [next(results) for _ in range(100)] == [x * x for x in range(100)]
    # The consumer pauses: the feeder fills the window (a fixed number of chunks beyond what
    # was consumed) and stops reading; the workers finish those chunks and go idle.
    window = pool._engine.window_slots()  # type: ignore[union-attr]
    limit = 100 + window * chunksize
    wait_until(lambda: source.pulled == limit, what=f"the window to fill up to {limit}")
    wait_until(lambda: _idle(pool), what="the pool to go idle while the consumer pauses")
    assert source.pulled == limit
    # Resuming continues exactly where it stopped.
    assert [next(results) for _ in range(50)] == [x * x for x in range(100, 150)]
    results.close()


def test_short_chunks_widen_the_window_within_bounds(pool: corepool.Pool) -> None:
    source = CountingSource()
    chunksize = 5
    results = pool.imap(tasks.square, source, chunksize=chunksize)
    assert [next(results) for _ in range(100)] == [x * x for x in range(100)]
    # Chunks of 5 squares are short: room for the workers' queues is added to the window.
    settings = corepool.Settings()
    base = pool._engine.window_slots()  # type: ignore[union-attr]
    widest = base + 2 * settings.max_queued_chunks
    wait_until(lambda: source.pulled > 100 + base * chunksize, what="the window to widen")
    wait_until(lambda: _idle(pool), what="the pool to go idle while the consumer pauses")
    assert source.pulled <= 100 + widest * chunksize
    assert [next(results) for _ in range(50)] == [x * x for x in range(100, 150)]
    results.close()


def test_automatic_chunks_stay_bounded_on_an_endless_input(pool: corepool.Pool) -> None:
    source = CountingSource()
    results = pool.imap_unordered(tasks.square, source)
    for _ in range(2000):
        next(results)
    wait_until(lambda: _idle(pool))
    settings = corepool.Settings()
    window = pool._engine.window_slots() + 2 * settings.max_queued_chunks  # type: ignore[union-attr]
    assert source.pulled <= 2000 + (window + 1) * settings.max_chunk_items
    results.close()


def test_abandoned_iterator_stops_reading_its_input(pool: corepool.Pool) -> None:
    source = CountingSource()
    results = pool.imap(tasks.square, source, chunksize=2)
    assert next(results) == 0
    del results
    gc.collect()
    wait_until(
        lambda: not any(t.name == "corepool-feeder" for t in threading.enumerate()),
        what="the feeder thread to stop",
    )
    wait_until(lambda: _idle(pool))
    pulled = source.pulled
    assert pool.map(tasks.square, range(10)) == [x * x for x in range(10)]
    assert source.pulled == pulled


def test_breaking_out_of_a_for_loop(pool: corepool.Pool) -> None:
    for value in pool.imap(tasks.square, itertools.count()):
        if value > 100:
            break
    gc.collect()
    wait_until(lambda: not any(t.name == "corepool-feeder" for t in threading.enumerate()))


def test_input_error_is_raised_at_its_position(pool: corepool.Pool) -> None:
    def numbers() -> Iterator[int]:
        yield from range(5)
        raise OSError("the input broke")

    results = pool.imap(tasks.square, numbers(), chunksize=2)
    assert [next(results) for _ in range(5)] == [0, 1, 4, 9, 16]
    with pytest.raises(OSError, match="the input broke"):
        next(results)
    with pytest.raises(OSError, match="the input broke"):
        pool.map(tasks.square, numbers())


def test_map_reads_a_generator_lazily(pool: corepool.Pool) -> None:
    source = CountingSource(stop=10_000)
    assert pool.map(tasks.square, source) == [x * x for x in range(10_000)]
    assert source.pulled == 10_000


def test_executor_map_streams(make_executor) -> None:  # type: ignore[no-untyped-def]
    executor = make_executor()
    source = CountingSource()
    # buffersize counts chunks; with chunksize=1 that is items, as in Python 3.14 without one.
    results = executor.map(tasks.square, source, chunksize=1, buffersize=8)
    assert [next(results) for _ in range(20)] == [x * x for x in range(20)]
    results.close()
    gc.collect()
    wait_until(lambda: not any(t.name == "corepool-feeder" for t in threading.enumerate()))
    assert source.pulled <= 20 + 8 + 1


def test_for_loop_then_next_continues_where_the_loop_stopped(pool: corepool.Pool) -> None:
    results = pool.imap(tasks.square, range(100), chunksize=50)
    taken = []
    for value in results:
        taken.append(value)
        if len(taken) == 10:
            break
    assert next(results) == 100  # item 10
    assert list(results) == [x * x for x in range(11, 100)]


def test_for_loop_raises_an_item_error_in_place_and_can_resume(pool: corepool.Pool) -> None:
    results = pool.imap(tasks.fail_on, range(8), chunksize=8)
    seen = []
    with pytest.raises(ValueError, match="item 3 is bad"):
        for value in results:
            seen.append(value)
    assert seen == [0, 1, 2]
    assert list(results) == [4, 5, 6, 7]


def test_imap_unordered_for_loop_gets_everything_once(pool: corepool.Pool) -> None:
    assert sorted(pool.imap_unordered(tasks.square, range(5000), chunksize=7)) == [
        x * x for x in range(5000)
    ]


def test_input_error_comes_after_every_result_before_it(pool: corepool.Pool) -> None:
    def numbers() -> Iterator[int]:
        yield from range(7)
        raise KeyError("the input broke")

    seen: list[int] = []
    with pytest.raises(KeyError, match="the input broke"):
        for value in pool.imap(tasks.square, numbers(), chunksize=3):
            seen.append(value)
    assert seen == [x * x for x in range(7)]
    unordered = pool.imap_unordered(tasks.square, numbers(), chunksize=2)
    assert sorted(next(unordered) for _ in range(7)) == [x * x for x in range(7)]
    with pytest.raises(KeyError, match="the input broke"):
        next(unordered)
    with pytest.raises(KeyError, match="the input broke"):
        pool.starmap(tasks.add, ((n, n) for n in numbers()))
