"""Short chunks queued behind a busy worker (``_engine/queueing.py``): what may wait, and where."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import pytest

import corepool
from corepool._backends.base import Phase, WorkerHandle, WorkerPosition
from corepool._engine import queueing
from corepool._engine.chunking import ChunkSizer
from corepool._engine.sinks import StreamSink
from corepool._engine.slots import Slot, StopReason
from corepool._engine.tasks import Chunk, Job, TaskOptions
from corepool._wire.messages import CallStyle
from corepool.settings import Settings
from support import tasks
from support.waiting import wait_until

LIMIT = 0.005


class _Worker(WorkerHandle):
    def __init__(self, queues: bool = True, withdraws: bool = False) -> None:
        self.index, self.name, self.queues_chunks = 0, "w", queues
        self.withdraws_queued = withdraws
        self.started: set[int] = set()
        """Ids of queued chunks the worker has already taken up: they cannot be withdrawn."""
        self.withdrawn: list[int] = []

    def withdraw(self, chunk: Any) -> bool:
        if chunk.id in self.started:
            return False
        self.withdrawn.append(chunk.id)
        return True

    @property
    def pid(self) -> int | None:
        return None

    def position(self) -> WorkerPosition:
        return WorkerPosition(0, Phase.READING, 0, 0)  # before its first chunk

    def run(self, chunk: Any) -> None:
        pass

    def stop(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def terminate(self) -> None:
        pass

    def release(self) -> None:
        pass


def _job(
    per_item: float | None = 1e-6,
    style: CallStyle = CallStyle.ONE,
    total: int | None = None,
    **options: Any,
) -> Job:
    # A fresh function each time: the sizer recalls the time per item of functions it saw.
    fn = functools.partial(len)
    sizer = ChunkSizer(fn, 2, Settings(), total=total, explicit=10)
    if per_item is not None:
        sizer.record(1000, per_item * 1000)
    return Job(fn, style, TaskOptions(**options), StreamSink(ordered=True), sizer, "map(len)")


def _chunk(job: Job, start: int = 0, size: int = 10) -> Chunk:
    return Chunk(job, start, list(range(start, start + size)))


def _ready_slot(index: int = 0, queues: bool = True, withdraws: bool = False) -> Slot:
    slot = Slot(index)
    slot.worker, slot.ready = _Worker(queues, withdraws), True
    return slot


def _busy_slot(index: int = 0, queues: bool = True, withdraws: bool = False) -> Slot:
    slot = _ready_slot(index, queues, withdraws)
    slot.chunk, slot.running_seconds = _chunk(_job()), 1e-5
    slot.assigned_ns = time.monotonic_ns()  # it started just now
    return slot


def test_a_short_chunk_of_a_map_may_wait_behind_a_busy_worker() -> None:
    assert queueing.queueable_seconds(_chunk(_job(1e-6)), LIMIT) == pytest.approx(1e-5)


@pytest.mark.parametrize(
    "job",
    [
        pytest.param(_job(per_item=None), id="duration not known yet"),
        pytest.param(_job(per_item=1e-3), id="longer than the limit"),
        pytest.param(_job(timeout=5.0), id="a call with a timeout"),
    ],
)
def test_what_never_waits_behind_another_chunk(job: Job) -> None:
    assert queueing.queueable_seconds(_chunk(job), LIMIT) is None


def test_a_short_single_task_may_wait_like_a_chunk_of_a_map() -> None:
    # Cancelling it then stops its worker when it gets to it (``Dispatcher._start_queued``).
    single = _chunk(_job(style=CallStyle.APPLY), size=1)
    assert queueing.queueable_seconds(single, LIMIT) == pytest.approx(1e-6)


def test_no_limit_queues_nothing() -> None:
    assert queueing.queueable_seconds(_chunk(_job()), 0.0) is None


def test_the_least_loaded_busy_worker_takes_the_chunk() -> None:
    first, second = _busy_slot(0), _busy_slot(1)
    queueing.enqueue(first, _chunk(_job()), 0.002)
    assert queueing.slot_with_room([first, second], LIMIT, 8) is second
    queueing.enqueue(second, _chunk(_job()), 0.003)
    assert queueing.slot_with_room([first, second], LIMIT, 8) is first
    queueing.enqueue(first, _chunk(_job()), 0.003)
    queueing.enqueue(second, _chunk(_job()), 0.002)
    assert queueing.slot_with_room([first, second], LIMIT, 8) is None  # both hold 5 ms


def test_nothing_waits_behind_a_long_task_or_one_of_unknown_length() -> None:
    long_task = _busy_slot()
    long_task.running_seconds = None  # see queueable_seconds
    assert queueing.slot_with_room([long_task], LIMIT, 8) is None


def test_nothing_more_waits_behind_a_task_that_overran_its_estimate() -> None:
    overdue = _busy_slot()  # estimated 10 µs: still running LIMIT later, it is no quick task
    assert queueing.slot_with_room([overdue], LIMIT, 8) is overdue
    overdue.assigned_ns = time.monotonic_ns() - int((1e-5 + LIMIT) * 1e9) - 1_000_000
    assert queueing.slot_with_room([overdue], LIMIT, 8) is None


def test_only_ready_busy_workers_that_queue_take_chunks() -> None:
    idle = _ready_slot(0)
    starting = _busy_slot(1)
    starting.ready = False
    stopping = _busy_slot(2)
    stopping.stop_reason = StopReason.CLOSE
    threads = _busy_slot(3, queues=False)
    assert queueing.slot_with_room([idle, starting, stopping, threads], LIMIT, 8) is None


def test_a_worker_queues_at_most_so_many_chunks() -> None:
    slot = _busy_slot()
    for _ in range(3):
        queueing.enqueue(slot, _chunk(_job()), 1e-6)
    assert queueing.slot_with_room([slot], LIMIT, 4) is slot
    queueing.enqueue(slot, _chunk(_job()), 1e-6)
    assert queueing.slot_with_room([slot], LIMIT, 4) is None


# -- a longer chunk of a map, one-deep, far from the call's end


def _long_chunk(per_item: float = 0.025, **options: Any) -> Chunk:
    return _chunk(_job(per_item, **options), size=1)


def test_a_longer_chunk_waits_one_deep_only_far_from_the_end_of_its_call() -> None:
    chunk = _long_chunk()
    assert queueing.queueable_seconds(chunk, LIMIT) is None  # too long for the short queue
    assert queueing.long_queueable_seconds(chunk, 4, 2) == pytest.approx(0.025)
    assert queueing.long_queueable_seconds(chunk, 3, 2) is None  # near the end: it stays pending


@pytest.mark.parametrize("cpu_share, queueable", [(0.95, True), (0.3, False)])
def test_a_cpu_bound_chunk_waits_one_deep_up_to_the_cpu_bound_chunk_length(
    cpu_share: float, queueable: bool
) -> None:
    # CPU-bound items of a map of known length are cut into chunks of ~0.1 s; each waiting for
    # the parent's round trip would give back much of what the larger chunks saved.
    fn = functools.partial(len)
    sizer = ChunkSizer(fn, 2, Settings(), total=1000)
    sizer.record(1, 0.025, cpu_seconds=0.025 * cpu_share)
    job = Job(fn, CallStyle.ONE, TaskOptions(), StreamSink(ordered=True), sizer, "map(len)")
    chunk = _chunk(job, size=4)
    expected = pytest.approx(0.1) if queueable else None
    assert queueing.long_queueable_seconds(chunk, 4, 2) == expected


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param(_long_chunk(0.2), id="longer than 50 ms"),
        pytest.param(_long_chunk(None), id="duration not known yet"),
        pytest.param(_chunk(_job(0.025, style=CallStyle.APPLY), size=1), id="a single task"),
        pytest.param(_long_chunk(timeout=5.0), id="a call with a timeout"),
    ],
)
def test_what_never_waits_even_far_from_the_end(chunk: Chunk) -> None:
    assert queueing.long_queueable_seconds(chunk, 100, 2) is None


def test_a_longer_chunk_goes_behind_the_worker_that_started_first_and_holds_nothing() -> None:
    first, second, third = _busy_slot(0), _busy_slot(1), _busy_slot(2)
    first.assigned_ns, second.assigned_ns, third.assigned_ns = 30, 10, 20
    assert queueing.slot_for_long([first, second, third]) is second
    queueing.enqueue(second, _long_chunk(), 0.025)
    assert queueing.slot_for_long([first, second, third]) is third
    single = _busy_slot(3)
    single.chunk = _chunk(_job(style=CallStyle.APPLY), size=1)
    single.assigned_ns = 0
    assert queueing.slot_for_long([first, single]) is first  # never behind a single task


def test_place_picks_the_queue_by_the_chunks_length() -> None:
    slots = [_busy_slot(0), _busy_slot(1)]
    short_place = queueing.place(_chunk(_job(1e-6)), slots, LIMIT, 8, ready=1)
    assert short_place is not None and short_place[1] == pytest.approx(1e-5)
    assert queueing.place(_long_chunk(), slots, LIMIT, 8, ready=1) is None  # near the end
    long_place = queueing.place(_long_chunk(), slots, LIMIT, 8, ready=4)
    assert long_place is not None and long_place[1] == pytest.approx(0.025)
    slot, _ = long_place
    queueing.enqueue(slot, _long_chunk(), 0.025)
    slot.chunk, slot.running_seconds = queueing.next_queued(slot), 0.025  # it runs now
    # Nothing short queues behind a longer chunk once it runs.
    assert queueing.slot_with_room([slot], LIMIT, 8) is None


@pytest.mark.parametrize(
    ("chunk_seconds", "slots"),
    [
        (None, 8),  # not measured yet
        (0.02, 8),  # long enough to run alone
        (0.001, 8 + 2 * 5),  # 5 ms of them queued on each of 2 workers
        (1e-6, 8 + 2 * 32),  # capped by max_queued_chunks
    ],
)
def test_the_window_makes_room_for_the_queues(chunk_seconds: float | None, slots: int) -> None:
    settings = Settings(worker_queue_seconds=LIMIT, max_queued_chunks=32)
    assert queueing.window_slots(8, 2, chunk_seconds, settings) == slots


def test_queued_chunks_come_out_in_order() -> None:
    slot = _busy_slot()
    job = _job()
    chunks = [_chunk(job, start) for start in (10, 20, 30)]
    for chunk in chunks:
        queueing.enqueue(slot, chunk, 0.001)
    assert queueing.next_queued(slot) is chunks[0]
    assert slot.queued_seconds == pytest.approx(0.002)
    assert slot.running_seconds == 0.001
    assert queueing.take_queued(slot) == chunks[1:]
    assert slot.queued_seconds == 0.0
    assert queueing.next_queued(slot) is None


@pytest.fixture
def one_worker() -> Iterator[corepool.Pool]:
    with corepool.Pool(1) as pool:
        yield pool


def test_a_busy_worker_holds_the_next_short_chunks(one_worker: corepool.Pool, manager: Any) -> None:
    gate = manager.Event()
    # 4 chunks of 10 (the window of a one-worker pool); item 25 waits.  Once the first chunk has
    # run, the others are known to be short: the worker holds chunk 2 and chunk 3 behind it.
    work = functools.partial(tasks.square_or_wait, gate=gate, at=25)
    results = one_worker.imap(work, range(40), chunksize=10)

    def holds_both() -> bool:
        stats = one_worker.statistics()
        return stats.tasks_in_flight == 20 and stats.tasks_queued == 0

    wait_until(holds_both, what="chunks 2 and 3 to be held by the worker")
    gate.set()
    assert list(results) == [x * x for x in range(40)]


def test_no_queue_when_workers_are_retired_after_so_many_tasks(manager: Any) -> None:
    gate = manager.Event()
    work = functools.partial(tasks.square_or_wait, gate=gate, at=25)
    with corepool.Pool(1, maxtasksperchild=1000) as pool:
        results = pool.imap(work, range(40), chunksize=10)

        def one_held() -> bool:
            stats = pool.statistics()
            return stats.tasks_in_flight == 10 and stats.tasks_queued == 10

        wait_until(one_held, what="chunk 2 running and chunk 3 pending")
        gate.set()
        assert list(results) == [x * x for x in range(40)]


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_the_last_items_of_a_map_wait_for_a_free_worker_not_behind_a_busy_one(
    manager: Any, backend: str
) -> None:
    # Item 0 ends at once, so items 3-5 are estimated instant; item 2 then runs on the worker
    # that ran item 0 and, unknown to the parent, waits for item 3.  Queued behind item 2, item
    # 3 would never start while the other worker, done with item 1, idles (item 2 gives up
    # after 10 s: False).  Near the end of a map of known length nothing is queued behind a
    # process; what waits behind a thread is taken back for the thread that frees up.
    started = manager.Event()
    work = functools.partial(tasks.waits_for_a_later_item, later_started=started)
    with corepool.Pool(2, backend=backend) as pool:
        pool.map(tasks.square, range(8), chunksize=1)  # both workers up
        assert pool.map(work, range(6)) == [True] * 6


def test_near_the_end_of_a_map_of_known_length_nothing_is_queued() -> None:
    slots = [_busy_slot(0), _busy_slot(1)]

    def cut_all_but(left: int) -> Chunk:
        job = _job(per_item=1e-6, total=20 + left)
        job.sizer.next_size(), job.sizer.next_size()  # two chunks of 10 cut
        assert job.sizer.items_left == left
        return _chunk(job)

    last = cut_all_but(0)
    assert queueing.place(last, slots, LIMIT, most=4, ready=3) is None  # < 2 chunks a worker
    assert queueing.place(last, slots, LIMIT, most=4, ready=4) is not None
    # An item not cut yet counts as one more chunk to come.
    assert queueing.place(cut_all_but(1), slots, LIMIT, most=4, ready=3) is not None
    # A stream's end is not known; with one worker, there is no other to find the last chunks.
    assert queueing.place(_chunk(_job(per_item=1e-6)), slots, LIMIT, most=4, ready=1) is not None
    assert queueing.place(last, [_busy_slot(0)], LIMIT, most=4, ready=1) is not None


def test_a_worker_that_gives_chunks_back_holds_the_next_of_a_map_whatever_its_length() -> None:
    # Not measured, near the end, longer than any queue: behind a process it stays pending.
    unknown = _chunk(_job(per_item=None, total=10))
    assert queueing.place(unknown, [_busy_slot(0), _busy_slot(1)], LIMIT, 8, ready=1) is None
    giving_back = _busy_slot(1, withdraws=True)
    assert queueing.place(unknown, [_busy_slot(0), giving_back], LIMIT, 8, ready=1) == (
        giving_back,
        0.0,
    )
    # One-deep, and never a single task of unknown length (it could be long: only a short one
    # waits, as a short chunk does) or a chunk with a timeout (its clock starts when handed over).
    queueing.enqueue(giving_back, unknown, 0.0)
    assert queueing.place(_chunk(_job(per_item=None)), [giving_back], LIMIT, 8, ready=1) is None
    free = _busy_slot(2, withdraws=True)
    for job in (_job(per_item=None, style=CallStyle.APPLY), _job(timeout=5.0)):
        assert queueing.place(_chunk(job), [free], LIMIT, 8, ready=1) is None


def test_an_idle_worker_takes_back_the_chunk_queued_last_behind_the_latest_worker() -> None:
    early, late, process = (
        _busy_slot(0, withdraws=True),
        _busy_slot(1, withdraws=True),
        _busy_slot(2),
    )
    early.assigned_ns, late.assigned_ns, process.assigned_ns = 10, 20, 30
    job = _job()
    first, second, third, fourth = (_chunk(job, start) for start in (10, 20, 30, 40))
    queueing.enqueue(early, first, 0.001)
    queueing.enqueue(late, second, 0.001)
    queueing.enqueue(late, third, 0.002)
    queueing.enqueue(process, fourth, 0.001)  # a process cannot give it back
    slots = [early, late, process]
    assert queueing.withdraw_for_idle(slots) is third
    assert list(late.queued) == [(second, 0.001)] and late.queued_seconds == pytest.approx(0.001)
    assert isinstance(late.worker, _Worker)
    late.worker.started.add(second.id)  # the worker took it up meanwhile: it stays
    assert queueing.withdraw_for_idle(slots) is first
    assert not early.queued and early.queued_seconds == 0.0
    assert queueing.withdraw_for_idle(slots) is None
    assert list(late.queued) == [(second, 0.001)] and list(process.queued) == [(fourth, 0.001)]


def test_a_thread_that_frees_up_takes_back_the_chunk_queued_behind_a_long_task() -> None:
    # Item 0 runs until item 2 has run; item 1 ends at once.  Item 2 is sent ahead to the thread
    # that took its chunk first, behind item 0, and must be taken back for the other thread
    # (else item 0 gives up after 10 s: False).
    import threading

    ran = threading.Event()

    def work(index: int) -> bool:
        if index == 0:
            return ran.wait(10)
        if index == 2:
            ran.set()
        return True

    with corepool.Pool(2, backend="threads") as pool:
        pool.map(tasks.square, range(8), chunksize=1)  # both threads up
        for _ in range(3):
            ran.clear()
            assert pool.map(work, range(3), chunksize=1) == [True] * 3


def test_a_cancelled_map_takes_back_what_waits_behind_a_worker_thread() -> None:
    # Items 0 and 1 hold both threads; items 2 and 3 are sent ahead behind them.  Closing the
    # map's iterator cancels what has not started: those two must never start either.
    import threading

    gate, started = threading.Event(), []

    def work(index: int) -> int:
        started.append(index)
        gate.wait(10)
        return index

    with corepool.ThreadPoolExecutor(2) as executor:
        list(executor.map(tasks.square, range(8), chunksize=1))  # both threads up
        try:
            results = executor.map(work, range(10), chunksize=1, buffersize=4)
            wait_until(lambda: executor.statistics().tasks_in_flight == 4, what="2 queued")
            results.close()
            wait_until(lambda: executor.statistics().tasks_in_flight == 2, what="2 taken back")
        finally:
            gate.set()
        wait_until(lambda: executor.statistics().tasks_in_flight == 0, what="the 2 to finish")
    assert sorted(started) == [0, 1]
