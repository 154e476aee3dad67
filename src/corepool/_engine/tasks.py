"""Parent-side records of the work a user asked for.

A ``Job`` is one user call (``apply_async``, ``map``, ``submit``...).  Its items are cut into
``Chunk``s, contiguous runs of item indices that travel to a worker as one message.  Neither ever
crosses the process boundary and neither knows a wire format: what a backend prepares for its
workers (pickles, for processes) it keeps in ``payload``, which the engine only stores.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from corepool._wire.messages import CallStyle

if TYPE_CHECKING:
    from corepool._backends.base import Outcome
    from corepool._engine.chunking import ChunkSizer
    from corepool._engine.sinks import Sink

_job_ids = itertools.count(1)
_chunk_ids = itertools.count(1)


class TaskOptions:
    """Per-call scheduling options."""

    # Plain classes here, not dataclasses: each dataclass costs ~1 ms to define (and
    # ``dataclasses`` with ``inspect`` ~5-12 ms to import), which every program's first pool pays
    # (benchmarks/start_first).
    __slots__ = ("delay", "priority", "retries", "timeout")

    def __init__(
        self,
        priority: int = 0,
        delay: float = 0.0,
        timeout: float | None = None,
        retries: int = 0,
    ) -> None:
        # Checked here, at the call: a bad option found later, on the loop thread, would stop the
        # dispatcher instead of failing the one call that passed it.
        _check_int("priority", priority)
        _check_seconds("delay", delay, allow_zero=True)
        if timeout is not None:
            _check_seconds("timeout", timeout, allow_zero=False)
        _check_int("retries", retries)
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        self.priority = priority
        """Higher runs first among pending tasks; equal priorities run in submission order."""
        self.delay = delay
        """Seconds to wait before the task may start (the pool's ``threading.Timer``)."""
        self.timeout = timeout
        """Seconds a task may run before its worker is stopped and the task fails."""
        self.retries = retries
        """How many times a task whose worker died is run again on a fresh worker."""

    def __repr__(self) -> str:
        return (
            f"TaskOptions(priority={self.priority!r}, delay={self.delay!r}, "
            f"timeout={self.timeout!r}, retries={self.retries!r})"
        )


def _check_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")


def _check_seconds(name: str, value: object, *, allow_zero: bool) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound} seconds, got {value!r}")


class Job:
    def __init__(
        self,
        fn: Callable[..., Any],
        style: CallStyle,
        options: TaskOptions,
        sink: Sink,
        sizer: ChunkSizer,
        label: str,
    ) -> None:
        self.fn = fn
        self.style = style
        self.options = options
        self.sink = sink
        self.sizer = sizer
        self.label = label
        """How errors name this call: ``map(square)``, ``apply(fetch)``."""
        self.id = next(_job_ids)
        self.payload: object = None
        """The backend's own preparation of the function (``Backend.prepare_job``)."""
        self.cancelled = False
        """Set once by the thread that cancels the call, read by the dispatcher and the feeder
        (a plain flag: an ``Event`` per job cost every ``apply_async`` a ``Condition``)."""
        self.stop_running = False
        """Set before ``cancelled`` by a cancel that stops the call's running tasks: a chunk of
        the call that a worker then reaches from its queue stops that worker as well."""
        self.not_before = time.monotonic() + options.delay if options.delay else 0.0
        """``time.monotonic()`` before which no task of the job may start (``options.delay``)."""
        self.waiting_caller: int | None = None
        """The thread that called and waits for the whole call, if one does (``MapRequest``)."""

    def __repr__(self) -> str:
        return f"Job(id={self.id}, {self.label})"

    @property
    def tracks_start_times(self) -> bool:
        return self.options.timeout is not None

    def describe_item(self, index: int) -> str:
        if self.style is CallStyle.APPLY:
            return f"task {self.label}"
        return f"item {index} of {self.label}"


class Chunk:
    def __init__(
        self,
        job: Job,
        start: int,
        items: Sequence[Any],
        parent_errors: dict[int, BaseException] | None = None,
    ) -> None:
        self.job = job
        self.start = start
        """Index in the job of the first item."""
        self.items = items
        self.id = next(_chunk_ids)
        self.payload: object = None
        """The backend's own preparation of the items (``Backend.prepare_chunk``); ``None`` until
        prepared, and again for parts cut by ``part()``."""
        self.parent_errors: dict[int, BaseException] = (
            {} if parent_errors is None else parent_errors
        )
        """Items that failed before leaving the parent; their errors replace whatever comes back."""
        self.attempts = 0
        """How many times a worker died running this chunk's first item (counted against
        retries)."""
        self.unstarted_losses = 0
        """How many times a worker was lost before starting any item of this chunk (bounded by
        ``Settings.max_unstarted_losses``; never counted against retries)."""

    def __repr__(self) -> str:
        last = self.start + len(self.items) - 1
        return f"Chunk(id={self.id}, items {self.start}-{last} of {self.job!r})"

    def __len__(self) -> int:
        return len(self.items)

    def deliver(self, outcome: Outcome) -> None:
        """On the results thread: unpickle what came back and hand it to the job's sink."""
        try:
            values, errors = outcome.unpack()
        except Exception as error:  # noqa: BLE001 - a broken outcome fails its items, not the pool
            values, errors = [None] * len(self), dict.fromkeys(range(len(self)), error)
        errors.update(self.parent_errors)
        self.job.sink.deliver(self.start, values, errors)

    def fail(self, error: BaseException) -> None:
        """On the results thread: every item of the chunk ends with ``error``."""
        errors = dict.fromkeys(range(len(self)), error)
        self.job.sink.deliver(self.start, [None] * len(self), errors)

    def part(self, begin: int, end: int) -> Chunk:
        """A new chunk of items ``begin:end`` of this one (indices relative to this chunk)."""
        errors = {
            index - begin: error
            for index, error in self.parent_errors.items()
            if begin <= index < end
        }
        return Chunk(self.job, self.start + begin, self.items[begin:end], parent_errors=errors)


def function_label(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        func = getattr(fn, "func", None)  # functools.partial
        return f"partial({function_label(func)})" if func is not None else type(fn).__name__
    return str(name)
