"""What the dispatcher saw of each worker's time, for ``pool.insights()`` (loop thread only).

    worker_ready / chunk_finished ── idle from here ──┐
    _assign ── waiting for work += now - idle since ◀──┘ ; holding a chunk from here ──┐
    chunk_finished ── busy += run time, reading/writing += worker's own, ◀────────────┘
                      in transit += held - run - reading/writing

Idle time counts only when work ends it (an assignment), so a pool left idle after its last call
does not report its rest as waiting.  The slowest tasks keep their arguments' ``repr``, shortened,
computed only for a task that enters the top five.
"""

from __future__ import annotations

import heapq
import itertools
import reprlib
import time
from typing import TYPE_CHECKING, Any

from corepool._backends.base import ChunkFinished
from corepool._engine.tasks import Chunk
from corepool._wire.messages import CallStyle

if TYPE_CHECKING:
    from corepool.insights.report import PoolInsights

_SLOWEST = 5
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60
_short.maxlevel = 3


class _WorkerTimes:
    # A plain class: a dataclass costs ~1 ms to define, paid by every program's first pool.
    __slots__ = (
        "assigned_at", "busy", "chunks", "cpu", "idle_since", "io", "queued", "tasks", "transit",
        "waiting",
    )  # fmt: skip

    def __init__(self) -> None:
        self.tasks = self.chunks = 0
        self.busy = self.waiting = self.io = self.transit = self.cpu = self.queued = 0.0
        self.idle_since: float | None = None
        self.assigned_at = 0.0


class InsightRecorder:
    def __init__(self, size: int) -> None:
        self._workers = [_WorkerTimes() for _ in range(size)]
        # (seconds per item, order, task, arguments): ``SlowTask``s are made by ``snapshot``, so
        # that ``corepool.insights`` is imported only by a program that asks for insights.
        self._slowest: list[tuple[float, int, str, str]] = []
        self._order = itertools.count()
        self._explicit_chunks = 0

    def ready(self, index: int) -> None:
        self._workers[index].idle_since = time.perf_counter()

    def gone(self, index: int) -> None:
        self._workers[index].idle_since = None

    def assigned(self, index: int) -> None:
        times = self._workers[index]
        now = time.perf_counter()
        if times.idle_since is not None:
            times.waiting += now - times.idle_since
            times.idle_since = None
        times.assigned_at = now

    def finished(self, index: int, chunk: Chunk, event: ChunkFinished) -> None:
        times = self._workers[index]
        now = time.perf_counter()
        size = len(chunk)
        times.tasks += size
        times.chunks += 1
        times.busy += event.seconds
        times.io += event.overhead_seconds
        times.cpu += event.cpu_seconds
        times.queued += event.queued_seconds
        held = now - times.assigned_at
        times.transit += max(0.0, held - event.seconds - event.overhead_seconds)
        times.idle_since = now
        self._explicit_chunks += chunk.job.sizer.explicit
        self._note_slow(chunk, event.seconds / max(size, 1))

    def _note_slow(self, chunk: Chunk, per_item: float) -> None:
        slowest = self._slowest
        if len(slowest) >= _SLOWEST and per_item <= slowest[0][0]:
            return
        entry = (per_item, next(self._order), _task(chunk), _arguments(chunk))
        if len(slowest) < _SLOWEST:
            heapq.heappush(slowest, entry)
        else:
            heapq.heapreplace(slowest, entry)

    def snapshot(self, backend: str) -> PoolInsights:
        from corepool.insights.report import PoolInsights, SlowTask, WorkerInsight, suggest

        workers = tuple(
            WorkerInsight(
                index,
                times.tasks,
                times.chunks,
                times.busy,
                times.waiting,
                times.io,
                times.transit,
                times.cpu,
                times.queued,
            )
            for index, times in enumerate(self._workers)
        )
        slowest = tuple(
            SlowTask(seconds, task, arguments)
            for seconds, _, task, arguments in sorted(self._slowest, reverse=True)
        )
        explicit = self._explicit_chunks > sum(worker.chunks for worker in workers) / 2
        return PoolInsights(
            backend, workers, slowest, suggest(backend, workers, explicit), explicit
        )


def _task(chunk: Chunk) -> str:
    if len(chunk) == 1:
        return chunk.job.describe_item(chunk.start)
    return f"items {chunk.start}-{chunk.start + len(chunk) - 1} of {chunk.job.label} (per item)"


def _arguments(chunk: Chunk) -> str:
    item: Any = chunk.items[0] if len(chunk.items) else ()
    try:
        style = chunk.job.style
        if style is CallStyle.APPLY:
            args, kwargs = item
            text = _short.repr(tuple(args))
            return f"{text} {_short.repr(kwargs)}" if kwargs else text
        if style is CallStyle.STAR:
            return _short.repr(tuple(item))
        return _short.repr((item,))
    except Exception:  # noqa: BLE001 - a repr that fails must not fail the pool
        return "<cannot be shown>"
