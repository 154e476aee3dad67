"""Parent-side records of the work a user asked for.

A ``Job`` is one user call (``apply_async``, ``map``, ``submit``...).  Its items are cut into
``Chunk``s, contiguous runs of item indices that travel to a worker as one message.  Neither ever
crosses the process boundary; the wire messages live in ``_wire.messages``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corepool._wire.messages import CallStyle, PackedItems

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
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {self.delay!r}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {self.timeout!r}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries!r}")


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
    function_blob: bytes | None = None
    """The pickled function, made once per job by a process backend."""
    function_by_value: bool = False
    """Whether ``function_blob`` carries the function's code (else a reference to its module)."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    not_before: float = 0.0
    """``time.monotonic()`` before which no task of the job may start (from ``options.delay``)."""

    def __post_init__(self) -> None:
        if self.options.delay:
            self.not_before = time.monotonic() + self.options.delay

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
    packed: PackedItems | None = None
    """The items pickled for a process worker (made in the submitting thread)."""
    parent_errors: dict[int, BaseException] = field(default_factory=dict)
    """Items that failed before leaving the parent; their errors replace whatever comes back."""
    attempts: int = 0
    """How many times a worker died running this chunk's first item."""

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
