"""Queues: order, back-pressure, no lost items, bad items, crashes mid-operation, passability."""

from __future__ import annotations

import inspect
import multiprocessing
import os
import queue
import signal
import sys
import threading
from typing import Any

import pytest

import corepool
from corepool.errors import SerializationError
from corepool.sync import _queue_layout, _queue_store

KINDS = ["Queue", "JoinableQueue", "SimpleQueue", "LifoQueue", "PriorityQueue"]
BOUNDED_KINDS = ["Queue", "JoinableQueue", "LifoQueue", "PriorityQueue"]


def make(kind: str, maxsize: int = 0) -> Any:
    cls = getattr(corepool, kind)
    return cls() if kind == "SimpleQueue" else cls(maxsize)


def produce(q: Any, start: int, count: int) -> None:
    for number in range(start, start + count):
        q.put(number)


def consume_into(q: Any, results: Any, count: int) -> None:
    for _ in range(count):
        results.put(q.get(timeout=30))


def put_then_exit(q: Any, how: str) -> None:
    q.put("delivered")
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(0)


# Where to kill a process in the middle of a put or get: (function, text of the line).
CRASH_POINTS = {
    ("Queue", "put"): (_queue_store.QueueStore.put_small, "self.data[start"),
    ("Queue", "get"): (_queue_store.QueueStore.get_small, "f[FREE_HEAD] = record"),
    ("LifoQueue", "put"): (_queue_store.QueueStore.put_small, "f[HEAD] = slot"),
    ("LifoQueue", "get"): (_queue_store.QueueStore.get_small, "f[FREE_COUNT] += 1"),
    ("PriorityQueue", "put"): (_queue_store.QueueStore._push, "heap.remember(record, item)"),
    ("PriorityQueue", "get"): (_queue_store.QueueStore.get, "self.slots.free(record)"),
}


def die_inside(q: Any, kind: str, stage: str, item: object) -> None:
    """SIGKILL this process when the queue code reaches a line in the middle of a change,
    while it holds the queue's mutex."""
    function, text = CRASH_POINTS[(kind, stage)]
    lines, first = inspect.getsourcelines(function)
    target = first + next(index for index, line in enumerate(lines) if text in line)

    def on_line(frame: Any, event: str, arg: object) -> Any:
        if event == "line" and frame.f_lineno == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return on_line

    def on_call(frame: Any, event: str, arg: object) -> Any:
        return on_line if frame.f_code is function.__code__ else None

    sys.settrace(on_call)
    if stage == "put":
        q.put(item)
    else:
        q.get()


def echo(value: object) -> object:
    return value


def put_from_task(q: Any, value: object) -> bool:
    q.put(value)
    return True


# -- order and size


def test_fifo_lifo_and_priority_orders() -> None:
    values = [5, 1, 4, 2, 3]
    expected = {
        "Queue": values,
        "JoinableQueue": values,
        "SimpleQueue": values,
        "LifoQueue": values[::-1],
        "PriorityQueue": sorted(values),
    }
    for kind in KINDS:
        q = make(kind)
        for value in values:
            q.put(value)
        assert q.qsize() == 5 and not q.empty()
        assert [q.get() for _ in values] == expected[kind], kind
        assert q.empty()


def test_priority_orders_tuples_strings_and_mixed_numbers() -> None:
    q = corepool.PriorityQueue()
    items = [(2, "b"), (1.5, "x"), (2, "a"), (-(2**60), "huge"), (0, "zero"), (float("inf"), "z")]
    for item in items:
        q.put(item)
    assert [q.get() for _ in items] == sorted(items)
    for word in ["pear", "apple", "fig"]:
        q.put(word)
    assert [q.get() for _ in range(3)] == ["apple", "fig", "pear"]


@pytest.mark.parametrize("kind", BOUNDED_KINDS)
def test_maxsize_gives_back_pressure(kind: str) -> None:
    q = make(kind, maxsize=2)
    q.put(1)
    q.put_nowait(2)
    assert q.full()
    with pytest.raises(queue.Full):
        q.put_nowait(3)
    with pytest.raises(queue.Full):
        q.put(3, timeout=0.01)
    q.get()
    q.put(3)
    assert q.qsize() == 2


@pytest.mark.parametrize("kind", KINDS)
def test_getting_from_an_empty_queue(kind: str) -> None:
    q = make(kind)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)


def test_big_items_travel_through_their_own_segment() -> None:
    q = corepool.Queue()
    big = os.urandom(100_000)
    q.put(big)
    q.put("small")
    assert q.get() == big
    assert q.get() == "small"


def test_bounded_storage_waits_like_a_full_queue() -> None:
    q = corepool.Queue(capacity_bytes=256 * _queue_layout.SLOT_BYTES)
    with pytest.raises(queue.Full):
        for number in range(1000):
            q.put_nowait(number)
    assert q.qsize() == 256


# -- across threads and processes


@pytest.mark.parametrize("kind", KINDS)
def test_every_item_arrives_across_actors(kind: str, spawner: Any) -> None:
    q, results = make(kind), corepool.Queue()
    consumers = [spawner.start(consume_into, q, results, 150) for _ in range(2)]
    producers = [spawner.start(produce, q, start, 100) for start in (0, 100, 200)]
    for actor in producers + consumers:
        actor.join(50)
        assert actor.exitcode == 0
    assert sorted(results.get(timeout=10) for _ in range(300)) == list(range(300))
    assert q.empty()


def test_one_producer_keeps_fifo_order_across_processes(process_spawner: Any) -> None:
    q = corepool.Queue(maxsize=10)  # small: the producer waits for the consumer
    producer = process_spawner.start(produce, q, 0, 500)
    assert [q.get(timeout=30) for _ in range(500)] == list(range(500))
    producer.join(30)


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_an_item_put_just_before_the_putter_dies_is_delivered(
    how: str, process_spawner: Any
) -> None:
    q = corepool.Queue()
    putter = process_spawner.start(put_then_exit, q, how)
    putter.join(30)
    assert q.get(timeout=30) == "delivered"


@pytest.mark.parametrize("kind", ["Queue", "LifoQueue", "PriorityQueue"])
@pytest.mark.parametrize("stage", ["put", "get"])
def test_a_process_killed_mid_operation_is_rolled_back(kind: str, stage: str) -> None:
    # Forked, so that the child runs the very code object the crash point names.
    q = make(kind)
    q.put(1)
    q.put(2)
    victim = multiprocessing.get_context("fork").Process(
        target=die_inside, args=(q, kind, stage, 3)
    )
    victim.start()
    victim.join(30)
    assert victim.exitcode == -signal.SIGKILL
    q.put(4)  # the next one in repairs the queue
    assert sorted(q.get(timeout=5) for _ in range(3)) == [1, 2, 4]
    assert q.empty()


@pytest.mark.parametrize("kind", KINDS)
def test_queues_passed_to_pool_tasks_and_back(kind: str, pool: corepool.Pool) -> None:
    q = make(kind)
    assert pool.starmap(put_from_task, [(q, number) for number in range(5)]) == [True] * 5
    assert sorted(q.get(timeout=10) for _ in range(5)) == list(range(5))
    assert pool.apply(echo, (q,)) is q


def test_joinable_queue_join_waits_for_task_done(spawner: Any) -> None:
    q = corepool.JoinableQueue()
    for number in range(20):
        q.put(number)
    assert q.join(timeout=0.01) is False
    worker = spawner.start(drain_and_mark_done, q, 20)
    assert q.join(timeout=30) is True
    worker.join(30)
    with pytest.raises(ValueError, match="too many times"):
        q.task_done()


def drain_and_mark_done(q: Any, count: int) -> None:
    for _ in range(count):
        q.get(timeout=30)
        q.task_done()


# -- bad input


@pytest.mark.parametrize("kind", KINDS)
def test_an_unpicklable_item_fails_put_and_leaves_the_queue_alone(kind: str) -> None:
    q = make(kind)
    q.put(1)
    with pytest.raises(SerializationError, match="pickling a queue item") as failed:
        q.put(threading.Lock())
    assert failed.value.__cause__ is not None
    assert q.qsize() == 1
    assert q.get() == 1


def test_lambdas_travel_by_value() -> None:
    q = corepool.Queue()
    q.put(lambda x: x * 3)
    assert q.get()(5) == 15


def test_incomparable_priority_items_fail_put_and_leave_the_queue_alone() -> None:
    q = corepool.PriorityQueue()
    q.put((1, {"a": 1}))
    with pytest.raises(TypeError):
        q.put((1, {"b": 2}))  # equal priorities: the dicts get compared
    assert q.qsize() == 1
    q.put((0, {"c": 3}))
    assert q.get() == (0, {"c": 3})
    assert q.get() == (1, {"a": 1})
    assert q.empty()


def test_a_closed_handle_refuses_put_and_get() -> None:
    q = corepool.Queue()
    q.close()
    with pytest.raises(ValueError, match="closed"):
        q.put(1)
    with pytest.raises(ValueError, match="closed"):
        q.get()
    q.join_thread()
    q.cancel_join_thread()


@pytest.mark.parametrize("kind", ["Queue", "JoinableQueue", "SimpleQueue"])
@pytest.mark.parametrize("used", [False, True])
def test_a_closed_handle_answers_as_multiprocessing_does(kind: str, used: bool) -> None:
    # multiprocessing: close() ends the feeder thread the first put() started, which closes the
    # pipe's reading end, so empty() raises; a SimpleQueue closes its pipe at once.
    mine, standard = getattr(corepool, kind)(), getattr(multiprocessing, kind)()
    answers = []
    for q in (mine, standard):
        if used:
            q.put(1)
            if kind != "SimpleQueue":
                q.get(timeout=30)
        q.close()
        if kind != "SimpleQueue":
            q.join_thread()
        answers.append(_outcomes(q, kind))
    assert answers[0] == answers[1]


def _outcomes(q: Any, kind: str) -> list[object]:
    calls = [q.empty, lambda: q.put(2)]
    if kind == "SimpleQueue":
        calls.append(q.get)  # raises: the handle is closed
    else:
        calls += [lambda: q.get(timeout=0.01), q.full, q.qsize]
    outcomes: list[object] = []
    for call in calls:
        try:
            outcomes.append(call())
        except Exception as error:  # noqa: BLE001 - the type and words are what is compared
            outcomes.append((type(error), str(error).split()[-2:]))
    return outcomes


@pytest.mark.parametrize(("maxsize", "error"), [("3", TypeError), (1.5, TypeError)])
def test_bad_maxsize_is_refused(maxsize: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        corepool.Queue(maxsize)  # type: ignore[arg-type]


def test_priority_order_matches_heapq_under_interleaving() -> None:
    import heapq
    import random

    chooser = random.Random(4)
    q, reference = corepool.PriorityQueue(), []
    for step in range(3000):
        if reference and chooser.random() < 0.45:
            assert q.get_nowait() == heapq.heappop(reference), step
        else:
            second = 0.5 if chooser.random() < 0.3 else chooser.random()  # 0.5: many full ties
            item = (chooser.randrange(20), second, "x" * chooser.randrange(4))
            q.put(item)
            heapq.heappush(reference, item)
    assert [q.get_nowait() for _ in range(len(reference))] == sorted(reference)


def send_back(q: Any, objects: Any) -> None:
    for obj in objects:
        q.put(obj)


def test_sync_objects_travel_through_queues_and_stay_the_same(spawner: Any) -> None:
    lock, event, value = corepool.Lock(), corepool.Event(), corepool.Value("i", 3)
    q = corepool.Queue()
    sender = spawner.start(send_back, q, [lock, event, value])
    received = [q.get(timeout=30) for _ in range(3)]
    sender.join(30)
    assert received[0] is lock and received[1] is event and received[2] is value
