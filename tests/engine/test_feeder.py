"""The feeder (``_engine/feeder.py``): how a call's input reaches the dispatcher.

A list, tuple or range goes over as far as the window and the sizer allow in one hand-over (each
hand-over wakes the loop thread); a generator's chunks go one by one, so that a slow next item
never holds back chunks already cut.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from corepool._engine.chunking import ChunkSizer
from corepool._engine.feeder import Feeder
from corepool._engine.sinks import StreamSink
from corepool._engine.tasks import Chunk, Job, TaskOptions
from corepool._engine.window import BlockLedger, Window
from corepool._wire.messages import CallStyle
from corepool.settings import Settings

pytestmark = pytest.mark.timeout(30)

SLOTS = 8


class _Recorder:
    """Stands in for the engine: records each hand-over and what was posted to the results."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.posted: list[tuple[str, tuple[Any, ...]]] = []
        self.finished = threading.Event()
        self.handed_over = threading.Condition()

    def submit(self, chunks: list[Chunk]) -> None:
        with self.handed_over:
            self.batches.append([(chunk.start, len(chunk)) for chunk in chunks])
            self.handed_over.notify_all()

    def post(self, fn: Any, *args: Any) -> None:
        self.posted.append((fn.__name__, args))

    def done(self, job: Job) -> None:
        self.finished.set()

    def wait_for_batches(self, count: int) -> None:
        with self.handed_over:
            assert self.handed_over.wait_for(lambda: len(self.batches) >= count, timeout=10)


_started: list[tuple[_Recorder, Window]] = []


@pytest.fixture(autouse=True)
def _stop_the_feeders() -> Iterator[None]:
    """Close each test's window, so that its feeder ends instead of waiting for a slot for ever
    (a feeder left behind counts as one that did not stop, in tests/contract)."""
    yield
    while _started:
        recorder, window = _started.pop()
        window.close()
        assert recorder.finished.wait(10), "the feeder did not stop"


def _feed(
    source: Any,
    *,
    chunksize: int | None = 3,
    measured: bool = True,
    settings: Settings = Settings(),  # noqa: B008 - a NamedTuple, immutable
) -> tuple[_Recorder, Window, BlockLedger]:
    fn = functools.partial(len)  # fresh: the sizer recalls the time per item of functions it saw
    sizer = ChunkSizer(fn, 2, settings, explicit=chunksize)
    if measured and chunksize is None:
        sizer.record(1, 1.0)  # long items: single-item chunks
    sink = StreamSink(ordered=True)
    window = Window(SLOTS)
    sink.ledger = BlockLedger(window)
    job = Job(fn, CallStyle.ONE, TaskOptions(), sink, sizer, "map(len)")
    recorder = _Recorder()
    _started.append((recorder, window))
    Feeder(job, source, window, recorder.submit, recorder.post, recorder.done).start()
    return recorder, window, sink.ledger


@pytest.mark.parametrize("source", [list(range(100)), tuple(range(100)), range(100)])
def test_a_sequence_fills_the_window_in_one_hand_over(source: Any) -> None:
    recorder, _, ledger = _feed(source)
    recorder.wait_for_batches(1)
    assert recorder.batches[0] == [(start, 3) for start in range(0, 3 * SLOTS, 3)]
    # The next batch starts once a quarter of the window came back (two slots of eight).
    ledger.settle(0, 3)
    ledger.settle(3, 3)
    recorder.wait_for_batches(2)
    assert recorder.batches[1] == [(24, 3), (27, 3)]


def test_every_item_of_a_sequence_is_handed_over_once_in_order() -> None:
    recorder, _, ledger = _feed(list(range(50)), chunksize=4)
    handed: list[tuple[int, int]] = []
    taken = 0
    while sum(size for _, size in handed) < 50:
        recorder.wait_for_batches(taken + 1)
        for start, size in recorder.batches[taken]:  # a consumer that takes everything at once
            handed.append((start, size))
            ledger.settle(start, size)
        taken += 1
    assert recorder.finished.wait(10)
    assert handed == [(start, min(4, 50 - start)) for start in range(0, 50, 4)]
    assert recorder.posted == [("input_ended", (50,))]


def test_a_generator_hands_over_one_chunk_at_a_time() -> None:
    def numbers() -> Iterator[int]:
        yield from range(100)

    recorder, _, _ = _feed(numbers())
    recorder.wait_for_batches(SLOTS)
    assert all(len(batch) == 1 for batch in recorder.batches)


def test_the_probes_go_in_one_hand_over_and_nothing_waits_for_a_measurement_in_a_batch() -> None:
    # Unmeasured, the sizer cuts two single items per worker at once, then waits (a target
    # time at most) for a first time per item: a chunk held back in a batch meanwhile would
    # wait for a measurement that cannot come before that chunk runs.
    recorder, _, _ = _feed(list(range(100)), chunksize=None, measured=False)
    recorder.wait_for_batches(3)
    assert recorder.batches[:3] == [[(0, 1), (1, 1), (2, 1), (3, 1)], [(4, 1)], [(5, 1)]]


def test_a_window_closed_while_the_sizer_waits_reads_no_more_input() -> None:
    read: list[int] = []

    def numbers() -> Iterator[int]:
        for number in range(1000):
            read.append(number)
            yield number

    # Unmeasured after two items per worker, the sizer waits (here up to 0.5 s) for a measurement.
    recorder, window, _ = _feed(
        numbers(), chunksize=None, measured=False, settings=Settings(target_chunk_seconds=0.5)
    )
    recorder.wait_for_batches(4)
    window.close()  # the caller closed the iterator meanwhile
    assert recorder.finished.wait(10)
    assert read == [0, 1, 2, 3]
    assert recorder.batches == [[(0, 1)], [(1, 1)], [(2, 1)], [(3, 1)]]


def test_cancelling_waits_for_a_read_of_the_input_in_progress() -> None:
    window = Window(1)
    window.reading.acquire()  # as the feeder does while it reads a chunk of the input
    ended: list[bool] = []

    def end_the_read() -> None:
        ended.append(True)
        window.reading.release()

    timer = threading.Timer(0.2, end_the_read)
    timer.start()
    window.close()
    window.wait_for_reader(10)
    assert ended == [True]
    timer.join()
