"""Parent-side records of the work a user asked for.

A ``Job`` is one user call (``apply_async``, ``map``, ``submit``...).  Its items are cut into
``Chunk``s, contiguous runs of item indices that travel to a worker as one message.  Neither ever
crosses the process boundary and neither knows a wire format: what a backend prepares for its
workers (pickles, for processes) it keeps in ``payload``, which the engine only stores.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corepool._wire.messages import CallStyle

if TYPE_CHECKING:
    from corepool._engine.chunking import ChunkSizer
    from corepool._engine.sinks import Sink

_job_ids = itertools.count(1)
_chunk_ids = itertools.count(1)


@dataclass(frozen=True)
class TaskOptions:
    """Per-call scheduling options."""

    priority: int = 0
    """Higher runs first among pending tasks; equal priorities run in submission order."""
    delay: float = 0.0
    """Seconds to wait before the task may start (the pool's ``threading.Timer``)."""
    timeout: float | None = None
    """Seconds a task may run before its worker is stopped and the task fails."""
    retries: int = 0
    """How many times a task whose worker died is run again on a fresh worker."""

    def __post_init__(self) -> None:
        # Checked here, at the call: a bad option found later, on the loop thread, would stop the
        # dispatcher instead of failing the one call that passed it.
        _check_int("priority", self.priority)
        _check_seconds("delay", self.delay, allow_zero=True)
        if self.timeout is not None:
            _check_seconds("timeout", self.timeout, allow_zero=False)
        _check_int("retries", self.retries)
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries!r}")


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


@dataclass(eq=False)
class Job:
    fn: Callable[..., Any]
    style: CallStyle
    options: TaskOptions
    sink: Sink
    sizer: ChunkSizer
    label: str
    """How errors name this call: ``map(square)``, ``apply(fetch)``."""
    id: int = field(default_factory=lambda: next(_job_ids))
    payload: object = None
    """The backend's own preparation of the function (``Backend.prepare_job``)."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    not_before: float = 0.0
    """``time.monotonic()`` before which no task of the job may start (from ``options.delay``)."""

    def __post_init__(self) -> None:
        if self.options.delay:
            self.not_before = time.monotonic() + self.options.delay

    @property
    def tracks_start_times(self) -> bool:
        return self.options.timeout is not None

    def describe_item(self, index: int) -> str:
        if self.style is CallStyle.APPLY:
            return f"task {self.label}"
        return f"item {index} of {self.label}"


@dataclass(eq=False)
class Chunk:
    job: Job
    start: int
    """Index in the job of the first item."""
    items: Sequence[Any]
    id: int = field(default_factory=lambda: next(_chunk_ids))
    payload: object = None
    """The backend's own preparation of the items (``Backend.prepare_chunk``); ``None`` until
    prepared, and again for parts cut by ``part()``."""
    parent_errors: dict[int, BaseException] = field(default_factory=dict)
    """Items that failed before leaving the parent; their errors replace whatever comes back."""
    attempts: int = 0
    """How many times a worker died running this chunk's first item (counted against retries)."""
    unstarted_losses: int = 0
    """How many times a worker was lost before starting any item of this chunk (bounded by
    ``Settings.max_unstarted_losses``; never counted against retries)."""

    def __len__(self) -> int:
        return len(self.items)

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
