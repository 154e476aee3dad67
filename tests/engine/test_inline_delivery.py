"""Outcomes the dispatcher delivers itself (``Outcome.quick``, ``Sink.runs_user_code``).

A chunk's results that unpickle without running any code (the bulk pickle of atoms) go to a
sink without callbacks straight from the loop thread, sparing the results thread a wake-up per
chunk.  Everything else still goes through the results thread: results whose unpickling runs
code, errors, large pickles, and every sink with a callback.  Sinks may therefore be delivered
to from two threads at once, and resolve exactly once.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

import pytest

import corepool
from corepool._backends.base import Flavour
from corepool._backends.pickled_calls import PackedOutcome
from corepool._engine.sinks import ListSink, SingleSink
from corepool._wire import serialization
from corepool._wire.messages import Done
from corepool._wire.remote_error import Stage, capture
from support import tasks

pytestmark = pytest.mark.timeout(60)


def _outcome(results: list[Any], errors: dict[int, Any] | None = None) -> PackedOutcome:
    packed, failed = serialization.pack_results(results, set(errors or ()))
    done = Done(1, packed, {**failed, **(errors or {})}, 0.0)
    return PackedOutcome(done, Flavour.MULTIPROCESSING)


def test_only_a_small_bulk_of_atoms_is_quick() -> None:
    assert _outcome([1, 2.5, "three", (4, 5), None]).quick
    assert not _outcome([tasks.NotesWhereLoaded(1)]).quick  # its own pickle: runs code on load
    assert not _outcome([1, None], {1: capture(ValueError("bad"), Stage.RUN)}).quick
    assert not _outcome(list(range(100_000))).quick  # unpickling would hold the loop up


def test_results_that_run_code_on_unpickling_are_unpickled_on_the_results_thread() -> None:
    tasks.LOADED_ON.clear()
    with corepool.Pool(2) as pool:
        values = pool.map(tasks.return_noting_where_loaded, range(8))
        single = pool.apply(tasks.return_noting_where_loaded, (8,))
    assert values == list(range(8)) and single == 8
    assert set(tasks.LOADED_ON) == {"corepool-results"}
    assert len(tasks.LOADED_ON) == 9


def test_callbacks_still_run_on_the_results_thread_for_quick_results() -> None:
    seen: list[str] = []
    with corepool.Pool(2) as pool:
        pool.map_async(tasks.square, range(10), callback=lambda _: seen.append(_thread())).wait()
        pool.apply_async(tasks.square, (3,), callback=lambda _: seen.append(_thread())).wait()
    assert seen == ["corepool-results", "corepool-results"]


def _thread() -> str:
    return threading.current_thread().name


def _from_threads(count: int, deliver: Callable[[int], None]) -> None:
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        deliver(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _deliver_half(sink: ListSink, half: int, ends_input: bool) -> None:
    for start in range(half * 200, half * 200 + 200, 10):
        sink.deliver(start, list(range(start, start + 10)), {})
    if ends_input and half == 1:
        sink.input_ended(400)


@pytest.mark.parametrize("total", [400, None])
def test_a_list_sink_fed_from_two_threads_resolves_once_with_every_value(
    total: int | None,
) -> None:
    for _ in range(50):
        resolved: list[list[int]] = []
        sink = ListSink(total, resolved.append, pytest.fail, runs_user_code=False)
        _from_threads(2, functools.partial(_deliver_half, sink, ends_input=total is None))
        assert resolved == [list(range(400))]


def _resolve_or_cancel(sink: SingleSink, index: int) -> None:
    if index:
        sink.deliver(0, [index], {})
    else:
        sink.cancel(RuntimeError("gone"))


def test_a_single_sink_resolves_once_when_two_threads_race() -> None:
    for _ in range(200):
        outcomes: list[object] = []
        sink = SingleSink(outcomes.append, outcomes.append, runs_user_code=False)
        _from_threads(2, functools.partial(_resolve_or_cancel, sink))
        assert len(outcomes) == 1


class _Box:
    pass


def test_a_resolved_sink_keeps_nothing_of_the_call() -> None:
    # The caller's result object, reached through the callbacks, leads back to the job and so to
    # the sink: held there, the results outlived the call until a garbage collection
    # (CPython's test_release_task_refs, when another thread still held the job for a moment).
    boxes = [_Box(), _Box()]
    refs = [weakref.ref(box) for box in boxes]
    handed: list[list[_Box]] = []
    sink = ListSink(2, handed.append, pytest.fail, runs_user_code=False)
    sink.deliver(0, boxes, {})
    handed.clear()
    del boxes
    assert [ref() for ref in refs] == [None, None]  # freed by reference counting alone

    receiver = _Box()
    receiver_ref = weakref.ref(receiver)
    single = SingleSink(_keep(receiver), pytest.fail)
    single.deliver(0, [_Box()], {})
    del receiver
    assert receiver_ref() is None  # the sink let go of its callback


def _keep(receiver: _Box) -> Callable[[object], None]:
    def resolve(value: object) -> None:
        receiver.value = value  # type: ignore[attr-defined]

    return resolve
