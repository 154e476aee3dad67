"""The code that runs inside a worker's subinterpreter (its parent side: ``_backends/``).

    parent thread "corepool-worker-N"                      its subinterpreter (own GIL)
    ─────────────────────────────────                      ───────────────────────────
    interp.exec(BOOT)  ────────────────────────────────▶  boot(): sys.path, board row, initializer
    outbox.get_nowait() ◀── Ready | InitFailed frame ────┘
    for each Call frame:
      inbox.put_nowait(frame)
      interp.exec(SERVE_ONE) ──────────────────────────▶  serve_one(): read the Call, run its items,
      outbox.get_nowait() ◀── Done | CallUnreadable ─────┘  pack the results
                              | FunctionUnreadable

``exec`` returns only when the code has run, so the reply is in the queue by then: nothing waits on
a queue (the queues of ``concurrent.interpreters`` can only wait by polling).  The messages are
those of worker processes (``_wire/messages.py``), pickled the same way, so the parent reads a
subinterpreter's replies with the process backend's code.  The board row is a slice of a file
mapped by both interpreters: the parent reads where the worker is, and writes ``ABANDONED`` to ask
it to stop after the item it is running.

Module state here is per interpreter (each subinterpreter imports its own copy of this module).
"""

from __future__ import annotations

import mmap
import os
import pickle
import sys
import time
from collections.abc import Callable, MutableSequence
from typing import Any

from corepool import worker_context as context
from corepool._record import Record
from corepool._wire import codec, serialization
from corepool._wire.messages import (
    Call,
    CallUnreadable,
    Done,
    FunctionDef,
    FunctionRef,
    FunctionUnreadable,
    InitFailed,
    Ready,
)
from corepool._wire.remote_error import RemoteError, Stage, capture
from corepool._worker import progress
from corepool._worker.runner import run_items

ROW_LENGTH = progress.ROW_SIZE + 1
"""A worker's row: the progress board's fields, then ``ABANDONED``."""
ABANDONED = progress.ROW_SIZE
"""Non-zero once the parent gave up on the worker (timeout, cancel): stop after this item."""

# CPython's words when an extension module refuses a subinterpreter (numpy repeats them).
_REFUSED_BY_EXTENSION = "does not support loading in subinterpreters"
_EXTENSION_HINT = (
    "corepool: an extension module this task needs cannot be loaded in a subinterpreter; "
    "run it with backend='processes' (or 'threads')"
)


class InterpreterBoot(Record):
    """What a new subinterpreter receives (every field shareable between interpreters)."""

    worker_index: int
    name: str
    path: tuple[str, ...]
    """The parent's ``sys.path``: a subinterpreter starts with the default one."""
    board_fd: int
    """A file of ``ROW_LENGTH`` int64s, this worker's row, mapped by parent and worker."""
    initializer_blob: bytes | None


class _AbandonFlag:
    """``run_items``' ``stop``: set when the parent wrote ``ABANDONED`` into the row."""

    def __init__(self, row: MutableSequence[int]) -> None:
        self._row = row

    def is_set(self) -> bool:
        return self._row[ABANDONED] != 0


class _Worker:
    """This interpreter's worker state (one per subinterpreter)."""

    def __init__(self, inbox: Any, outbox: Any, row: MutableSequence[int]) -> None:
        self.inbox = inbox
        self.outbox = outbox
        self.row = row
        self.stop = _AbandonFlag(row)
        self.functions: dict[int, Callable[..., Any]] = {}


_worker: _Worker | None = None


def boot(settings: InterpreterBoot, inbox: Any, outbox: Any) -> None:
    """Become worker ``settings.worker_index``; reply ``Ready`` or ``InitFailed``."""
    global _worker
    context.enter_interpreter_worker(settings.worker_index, settings.name)
    board = mmap.mmap(settings.board_fd, ROW_LENGTH * 8)
    row: MutableSequence[int] = memoryview(board).cast("q")  # type: ignore[assignment]
    _worker = _Worker(inbox, outbox, row)
    reply: Ready | InitFailed = Ready(os.getpid())
    if settings.initializer_blob is not None:
        try:
            initializer, initargs = pickle.loads(settings.initializer_blob)
            initializer(*initargs)
        except BaseException as error:  # noqa: BLE001 - reported to the parent
            reply = InitFailed(capture(_hinted(error), Stage.INITIALIZER))
    outbox.put_nowait(codec.dumps_from_worker(reply))


def serve_one() -> None:
    """Run the Call waiting in the inbox and put the reply in the outbox."""
    worker = _worker
    assert worker is not None, "boot() first"
    call = codec.loads_to_worker(worker.inbox.get_nowait())
    assert isinstance(call, Call)
    reply = _handle_call(call, worker)
    worker.outbox.put_nowait(codec.dumps_from_worker(reply))


def _handle_call(call: Call, worker: _Worker) -> Done | CallUnreadable | FunctionUnreadable:
    row = worker.row
    progress.begin_chunk(row, call.chunk_id, call.track_start_times)
    for token in call.forget:
        worker.functions.pop(token, None)
    try:
        fn = _resolve_function(call.function, worker.functions)
    except BaseException as error:  # noqa: BLE001 - the parent resends it by value, or fails
        return FunctionUnreadable(call.chunk_id, capture(_hinted(error), Stage.UNPICKLE_CALL))
    try:
        items, unreadable = serialization.unpack_call_items(call.items)
    except BaseException as error:  # noqa: BLE001 - the parent resends the items one by one
        return CallUnreadable(call.chunk_id, capture(_hinted(error), Stage.UNPICKLE_CALL))
    started = time.perf_counter()
    results, raised = run_items(
        fn,
        call.style,
        items,
        row,
        with_times=call.track_start_times,
        skip=set(unreadable),
        stop=worker.stop,
    )
    seconds = time.perf_counter() - started
    errors: dict[int, RemoteError] = dict(unreadable)
    errors.update((index, capture(_hinted(error), Stage.RUN)) for index, error in raised.items())
    progress.begin_packing(row, 0, call.track_start_times)

    def mark(index: int) -> None:
        progress.begin_packing(row, index, call.track_start_times)

    packed, unpicklable = serialization.pack_results(results, set(errors), mark)
    errors.update(unpicklable)
    return Done(call.chunk_id, packed, errors, seconds)


def _resolve_function(
    ref: FunctionDef | FunctionRef, functions: dict[int, Callable[..., Any]]
) -> Callable[..., Any]:
    if isinstance(ref, FunctionDef):
        functions[ref.token] = pickle.loads(ref.blob)
    return functions[ref.token]


def _hinted(error: BaseException) -> BaseException:
    """An extension module that refuses subinterpreters gets a note saying what to do instead."""
    if (
        isinstance(error, ImportError)
        and _REFUSED_BY_EXTENSION in str(error)
        and sys.version_info >= (3, 11)
    ):
        error.add_note(_EXTENSION_HINT)
    return error
