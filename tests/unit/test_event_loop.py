"""The dispatcher's event loop: the asyncio subset the engine relies on, with its semantics."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from corepool._engine.event_loop import EventLoop


@pytest.fixture
def loop() -> Iterator[EventLoop]:
    event_loop = EventLoop()
    yield event_loop
    event_loop.close()


def test_timers_run_in_time_order_and_a_cancelled_one_never(loop: EventLoop) -> None:
    seen: list[str] = []
    loop.call_later(0.02, seen.append, "late")
    loop.call_later(0.01, seen.append, "early")
    loop.call_later(0.015, seen.append, "cancelled").cancel()
    loop.call_later(0.03, loop.stop)
    loop.run_forever()
    assert seen == ["early", "late"]


def test_another_thread_wakes_the_loop(loop: EventLoop) -> None:
    seen: list[str] = []

    def post() -> None:
        loop.call_soon_threadsafe(seen.append, "from a thread")
        loop.call_soon_threadsafe(loop.stop)

    loop.call_soon(threading.Thread(target=post).start)
    loop.run_forever()  # blocks in select until the thread writes its wake-up
    assert seen == ["from a thread"]


def _post_from_threads(
    loop: EventLoop, posters: int, calls: int, pause: Callable[[int, int], float]
) -> tuple[list[int], list[int], bool]:
    """``posters`` threads each post ``calls`` calls, sleeping ``pause(index, number)`` seconds
    after each; returns what ran, which posters finished, and whether the loop gave up waiting
    (a lost wake-up leaves it waiting in select until a 20 s timer: a hang, not slowness)."""
    seen: list[int] = []
    finished: list[int] = []

    def post(index: int) -> None:
        for number in range(calls):
            loop.call_soon_threadsafe(seen.append, number)
            if seconds := pause(index, number):
                time.sleep(seconds)
        loop.call_soon_threadsafe(finished.append, index)
        loop.call_soon_threadsafe(stop_when_all_finished)

    def stop_when_all_finished() -> None:
        if len(finished) == posters:
            loop.stop()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(posters)]
    for thread in threads:
        loop.call_soon(thread.start)
    gave_up: list[bool] = []
    loop.call_later(20, lambda: (gave_up.append(True), loop.stop()))
    loop.run_forever()
    for thread in threads:
        thread.join(10)
    return seen, finished, bool(gave_up)


def test_no_call_from_another_thread_is_left_waiting(loop: EventLoop) -> None:
    # The loop writes itself no wake-up byte while it is busy; a call posted at any moment, busy
    # or about to wait, must still run promptly.  Posters that pause now and then let the loop
    # fall asleep between posts, the others keep it busy.
    posters, calls = 4, 500
    seen, finished, gave_up = _post_from_threads(
        loop, posters, calls, lambda index, number: 0.001 * (index % 2 and number % 50 == 0)
    )
    assert not gave_up
    assert sorted(finished) == list(range(posters))
    assert len(seen) == posters * calls


def test_calls_posted_while_the_loop_waits_write_one_wake_up(loop: EventLoop) -> None:
    # 64 worker threads finishing together each wrote a wake-up byte under one lock, and queued
    # behind each other's writes: one byte wakes the loop, the rest only add their call.
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data: bytes) -> int:
        writes.append(fd)
        return real_write(fd, data)

    waiting = threading.Event()
    loop.call_soon(waiting.set)
    seen: list[int] = []
    waker = threading.Thread(target=lambda: (waiting.wait(10), time.sleep(0.05), post_all()))

    def post_all() -> None:
        os_write, os.write = os.write, counting_write  # type: ignore[assignment]
        try:
            for number in range(20):
                loop.call_soon_threadsafe(seen.append, number)
        finally:
            os.write = os_write  # type: ignore[assignment]
        loop.call_soon_threadsafe(loop.stop)

    waker.start()
    loop.call_later(20, loop.stop)  # a lost wake-up fails below instead of hanging
    loop.run_forever()  # waits in select after running waiting.set
    waker.join(10)
    assert seen == list(range(20))
    assert len(writes) == 1


def test_many_threads_posting_and_pausing_lose_no_wake_up(loop: EventLoop) -> None:
    # Posters that pause let the loop fall asleep between their posts, over and over, while
    # others post as it wakes: a wake-up skipped because another was "on its way" must be.
    posters, calls = 32, 60
    seen, _, gave_up = _post_from_threads(
        loop, posters, calls, lambda index, number: 0.0005 * (index % 3)
    )
    assert not gave_up
    assert len(seen) == posters * calls


def test_a_reader_fires_until_removed_and_a_pending_call_is_dropped(loop: EventLoop) -> None:
    read_end, write_end = os.pipe()
    calls: list[bytes] = []

    def on_readable() -> None:
        calls.append(os.read(read_end, 1))
        if len(calls) == 2:
            loop.remove_reader(read_end)
            loop.call_soon(loop.stop)

    loop.add_reader(read_end, on_readable)
    os.write(write_end, b"abc")
    loop.run_forever()
    assert calls == [b"a", b"b"]
    assert not loop.remove_reader(read_end)  # already gone
    os.close(read_end)
    os.close(write_end)


def test_removing_a_reader_cancels_its_callback_made_ready_in_the_same_round(
    loop: EventLoop,
) -> None:
    first_read, first_write = os.pipe()
    second_read, second_write = os.pipe()
    calls: list[str] = []

    def first() -> None:
        calls.append("first")
        loop.remove_reader(second_read)  # its callback may be ready in this very round
        loop.remove_reader(first_read)
        loop.call_soon(loop.stop)

    def second() -> None:
        calls.append("second")
        loop.remove_reader(first_read)
        loop.remove_reader(second_read)
        loop.call_soon(loop.stop)

    loop.add_reader(first_read, first)
    loop.add_reader(second_read, second)
    os.write(first_write, b"x")
    os.write(second_write, b"x")
    loop.run_forever()
    assert calls in (["first"], ["second"])
    for fd in (first_read, first_write, second_read, second_write):
        os.close(fd)


def test_a_writer_and_a_reader_share_a_descriptor(loop: EventLoop) -> None:
    left, right = os.pipe()
    seen: list[str] = []
    loop.add_writer(right, lambda: (seen.append("writable"), loop.remove_writer(right)))
    loop.add_reader(left, lambda: (seen.append("readable"), loop.remove_reader(left), loop.stop()))
    loop.call_later(0.01, os.write, right, b"x")
    loop.run_forever()
    assert seen == ["writable", "readable"]
    os.close(left)
    os.close(right)


def test_a_failing_callback_is_reported_and_the_loop_goes_on(loop: EventLoop) -> None:
    reports: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: reports.append(context))
    seen: list[str] = []
    loop.call_soon(lambda: 1 / 0)
    loop.call_soon(seen.append, "after")
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["after"]
    assert isinstance(reports[0]["exception"], ZeroDivisionError)


def test_a_closed_loop_refuses_work_from_other_threads() -> None:
    event_loop = EventLoop()
    event_loop.close()
    assert event_loop.is_closed()
    with pytest.raises(RuntimeError, match="closed"):
        event_loop.call_soon_threadsafe(print)
    event_loop.close()  # twice is fine


def test_end_of_round_work_runs_after_the_rounds_callbacks_before_the_next(
    loop: EventLoop,
) -> None:
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        loop.at_end_of_round(lambda: seen.append("end of round"))
        loop.call_soon(seen.append, "next round")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    loop.call_soon(loop.stop)
    loop.run_forever()  # stop: the round still ends, with its end-of-round work
    assert seen == ["first", "second", "end of round"]
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen[-1] == "next round"  # registered once, ran once
