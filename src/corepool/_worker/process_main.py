"""The loop inside a worker process.

    parent ──Call──▶ read_frame ─▶ resolve function ─▶ unpack items ─▶ run_items ─▶ pack results
                                                                                      │
    parent ◀──Done─────────────────────────────────────────────────────────────────────┘

The worker runs one chunk at a time and writes its progress to its row of the board (see
``progress``), so the parent knows exactly which item it held if it dies.  When the parent dies,
the worker goes at once, even in the middle of a task (``lifeline``).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal.py's C half, no stubs
import os
import pickle
import signal
import socket
import time
from collections.abc import Callable, MutableSequence
from functools import partial
from typing import TYPE_CHECKING, Any

from corepool import worker_context as context
from corepool._lifecycle.interrupted_imports import forget_interrupted_imports
from corepool._wire import codec, serialization
from corepool._wire.framing import ChannelClosed, read_frame, write_frame
from corepool._wire.messages import (
    Call,
    CallUnreadable,
    Done,
    FromWorker,
    FunctionDef,
    FunctionRef,
    FunctionUnreadable,
    InitFailed,
    Ready,
    Stop,
)
from corepool._wire.remote_error import RemoteError, Stage, capture
from corepool._worker import progress
from corepool._worker.boot import WorkerBoot
from corepool._worker.cpu_clock import RunQueueClock
from corepool._worker.lifeline import EXIT_PARENT_GONE, watch_parent
from corepool._worker.runner import run_items

if TYPE_CHECKING:  # an initializer's class comes with its pickle; the zygote loads neither
    from corepool._wire.initializer import WorkerInitializer


def worker_process_main(boot: WorkerBoot) -> None:
    # _signal.signal, not signal.signal, whose wrapper makes the old handler an enum (raising and
    # catching a ValueError when it is a function): the first touch of that machinery in a new
    # worker costs ~40 page faults, ~0.17 ms of each worker's start on this machine.
    _signal.signal(signal.SIGINT, _signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _signal.signal(signal.SIGTERM, _signal.SIG_DFL)  # terminate() ends a worker, whatever it runs
    for fd in boot.inherited_fds:
        _close_quietly(fd)
    forget_interrupted_imports()  # fork: another parent thread may have been mid-import
    watch_parent(boot.lifeline)
    if boot.native_threads is not None:
        from corepool._worker.native_threads import cap_native_threads

        cap_native_threads(boot.native_threads)
    context.enter_process_worker(boot.worker_index)
    row = boot.board.row(boot.worker_index)
    channel = boot.channel
    if not _run_initializer(boot.initializer, channel):
        return
    measure: Callable[[], int] | None = None
    if boot.measure_memory:  # a pool with a memory limit
        from corepool._worker.memory import resident_memory as measure
    _serve(channel, row, measure)


def _serve(
    channel: socket.socket,
    row: MutableSequence[int],
    measure: Callable[[], int] | None,
) -> None:
    functions: dict[int, Callable[..., Any]] = {}
    clock = RunQueueClock()  # made here: it measures this (the worker's main) thread
    while True:
        try:
            message = codec.loads_to_worker(read_frame(channel))
        except ChannelClosed:
            return
        if isinstance(message, Stop):
            return
        assert isinstance(message, Call)
        reply = _handle_call(message, functions, row, clock)
        if measure is not None and isinstance(reply, Done):
            reply = reply._replace(rss=measure())
        _send(channel, reply)


def _handle_call(
    call: Call,
    functions: dict[int, Callable[..., Any]],
    row: MutableSequence[int],
    clock: RunQueueClock,
) -> Done | CallUnreadable | FunctionUnreadable:
    progress.begin_chunk(row, call.chunk_id, call.track_start_times)
    for token in call.forget:
        functions.pop(token, None)
    try:
        fn = _resolve_function(call.function, functions)
    except BaseException as error:  # noqa: BLE001 - the parent resends it by value, or fails
        return FunctionUnreadable(call.chunk_id, capture(error, Stage.UNPICKLE_CALL))
    reading = time.perf_counter()
    try:
        items, unreadable = serialization.unpack_call_items(call.items)
    except BaseException as error:  # noqa: BLE001 - the parent resends the items one by one
        return CallUnreadable(call.chunk_id, capture(error, Stage.UNPICKLE_CALL))
    started, cpu_started, queued = time.perf_counter(), time.process_time(), clock.read()
    results, raised = run_items(
        fn, call.style, items, row, with_times=call.track_start_times, skip=set(unreadable)
    )
    ended, cpu = time.perf_counter(), time.process_time() - cpu_started
    queued = clock.read() - queued
    errors = dict(unreadable)
    errors.update((index, capture(error, Stage.RUN)) for index, error in raised.items())
    done = _done(call, results, errors, ended - started, row)
    # Per chunk, not per item: six clock reads for a chunk of ~10 ms of work.
    overhead = (started - reading) + (time.perf_counter() - ended)
    return done._replace(cpu=cpu, overhead=overhead, queued=queued)


def _done(
    call: Call,
    results: list[object],
    errors: dict[int, RemoteError],
    seconds: float = 0.0,
    row: MutableSequence[int] | None = None,
) -> Done:
    mark = None
    if row is not None:
        progress.begin_packing(row, 0, call.track_start_times)
        mark = partial(progress.begin_packing, row, with_times=call.track_start_times)
    packed, unpicklable = serialization.pack_results(results, set(errors), mark)
    errors.update(unpicklable)
    return Done(call.chunk_id, packed, errors, seconds)


def _resolve_function(
    ref: FunctionDef | FunctionRef, functions: dict[int, Callable[..., Any]]
) -> Callable[..., Any]:
    if isinstance(ref, FunctionDef):
        functions[ref.token] = pickle.loads(ref.blob)
    return functions[ref.token]


def _run_initializer(initializer: WorkerInitializer | None, channel: socket.socket) -> bool:
    if initializer is not None:
        try:
            initializer.run()
        except BaseException as error:  # noqa: BLE001 - reported to the parent, then exit
            _send(channel, InitFailed(capture(error, Stage.INITIALIZER)))
            return False
    _send(channel, Ready(os.getpid()))
    return True


def _send(channel: socket.socket, message: FromWorker) -> None:
    try:
        write_frame(channel, codec.dumps_from_worker(message))
    except (BrokenPipeError, ConnectionResetError):
        os._exit(EXIT_PARENT_GONE)
    serialization.message_sent()


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
