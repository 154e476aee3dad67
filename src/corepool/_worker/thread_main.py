"""The loop inside a worker thread: take a chunk, run it, post the outcome to the dispatcher.

Threads share the parent's memory, so nothing is pickled: the chunk's items go in and the results
and exception objects come out as they are.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass
from typing import Any

from corepool import worker_context as context
from corepool._wire.messages import CallStyle
from corepool._worker import progress
from corepool._worker.cpu_clock import RunQueueClock
from corepool._worker.runner import run_items


@dataclass(frozen=True)
class LocalCall:
    chunk_id: int
    fn: Callable[..., Any]
    style: CallStyle
    items: Any
    track_start_times: bool


@dataclass(frozen=True)
class LocalDone:
    chunk_id: int
    results: list[object]
    errors: dict[int, BaseException]
    seconds: float
    cpu: float = 0.0
    """``time.thread_time()`` spent running the items."""
    queued: float = 0.0
    """Of ``seconds``, the time spent ready to run but queued for a core (``cpu_clock.py``)."""


@dataclass(frozen=True)
class LocalInitFailed:
    error: BaseException


class LocalReady:
    """The initializer finished; the worker takes calls."""


class LocalStop:
    """Finish and exit."""


LocalEvent = LocalReady | LocalInitFailed | LocalDone


def thread_worker_main(
    index: int,
    name: str,
    inbox: queue.SimpleQueue[LocalCall | LocalStop],
    row: MutableSequence[int],
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
    post: Callable[[LocalEvent], None],
    stop: threading.Event,
    claim: Callable[[int], bool],
) -> None:
    """Every call the worker claims (``claim(chunk_id)``: False when the dispatcher took it back
    first) is answered by exactly one ``LocalDone`` (passed to ``post``)."""
    context.enter_thread_worker(index, name)
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException as error:  # noqa: BLE001 - reported to the dispatcher
            post(LocalInitFailed(error))
            return
    post(LocalReady())
    clock = RunQueueClock()
    try:
        while True:
            call = inbox.get()
            if isinstance(call, LocalStop):
                return
            if not claim(call.chunk_id):  # withdrawn: another worker runs it
                del call  # (its items belong to the caller; see below)
                continue
            progress.begin_chunk(row, call.chunk_id, call.track_start_times)
            started, cpu_started, queued = time.perf_counter(), time.thread_time(), clock.read()
            results, errors = run_items(
                call.fn, call.style, call.items, row, with_times=call.track_start_times, stop=stop
            )
            if stop.is_set():
                return
            row[progress.ITEM] = progress.PACKING_BASE
            seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu_started
            queued = clock.read() - queued
            post(LocalDone(call.chunk_id, results, errors, seconds, cpu, queued))
            # An idle worker holds nothing of its last chunk: its arguments and results belong to
            # the caller, who may expect them freed once the call returned.
            del call, results, errors
    finally:
        clock.close()  # one descriptor per worker thread
