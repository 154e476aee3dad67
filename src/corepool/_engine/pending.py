"""The chunks waiting for a worker, owned by the dispatcher (loop thread only).

    add ─▶ delayed (a loop timer each) ─▶ heap: (-priority, order) ─▶ pop ─▶ a worker
                      requeue ─▶ heap front (negative order: before anything added)

Priorities are exact to within what is queued behind a busy worker (``queueing.py``: a few ms of
short map chunks, or one longer chunk of a map far from its end); equal priorities run in
submission order; a chunk run again after a lost worker goes first.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterator

from corepool._engine.event_loop import EventLoop, TimerHandle
from corepool._engine.tasks import Chunk


class PendingChunks:
    def __init__(self, loop: EventLoop, on_released: Callable[[], None]) -> None:
        self._loop = loop
        self._on_released = on_released
        self._heap: list[tuple[int, int, Chunk]] = []
        self._order = itertools.count()
        self._front = itertools.count(-1, -1)
        self._delayed: dict[int, tuple[TimerHandle, Chunk]] = {}

    def __bool__(self) -> bool:
        return bool(self._heap or self._delayed)

    @property
    def ready_count(self) -> int:
        """How many chunks may be handed to a worker now (delayed ones not counted)."""
        return len(self._heap)

    @property
    def ready(self) -> bool:
        """Whether a chunk may be handed to a worker now."""
        return bool(self._heap)

    def add(self, chunk: Chunk) -> None:
        """Queue a new chunk; it waits on a timer while its job's delay lasts."""
        wait = chunk.job.not_before - time.monotonic()
        if wait > 0:
            handle = self._loop.call_later(wait, self._release, chunk.id)
            self._delayed[chunk.id] = (handle, chunk)
        else:
            self._push(chunk, next(self._order))

    def requeue(self, chunk: Chunk) -> None:
        """Queue a chunk to run again, ahead of everything added."""
        self._push(chunk, next(self._front))

    def pop(self) -> Chunk:
        return heapq.heappop(self._heap)[2]

    def peek(self) -> Chunk:
        """The chunk ``pop()`` would return."""
        return self._heap[0][2]

    def remove_job(self, job_id: int) -> list[Chunk]:
        """Take out every waiting chunk of a job (cancelled), delayed ones included."""
        removed = [entry[2] for entry in self._heap if entry[2].job.id == job_id]
        if removed:
            self._heap = [entry for entry in self._heap if entry[2].job.id != job_id]
            heapq.heapify(self._heap)
        for chunk_id, (handle, chunk) in list(self._delayed.items()):
            if chunk.job.id == job_id:
                handle.cancel()
                del self._delayed[chunk_id]
                removed.append(chunk)
        return removed

    def take_ready(self) -> list[Chunk]:
        """Take out every chunk that is not delayed."""
        chunks = [entry[2] for entry in self._heap]
        self._heap.clear()
        return chunks

    def take_all(self) -> list[Chunk]:
        """Take out everything, delayed chunks included (their timers are cancelled)."""
        chunks = self.take_ready()
        for handle, chunk in self._delayed.values():
            handle.cancel()
            chunks.append(chunk)
        self._delayed.clear()
        return chunks

    def __iter__(self) -> Iterator[Chunk]:
        yield from (entry[2] for entry in self._heap)
        yield from (chunk for _, chunk in self._delayed.values())

    def _push(self, chunk: Chunk, order: int) -> None:
        heapq.heappush(self._heap, (-chunk.job.options.priority, order, chunk))

    def _release(self, chunk_id: int) -> None:
        entry = self._delayed.pop(chunk_id, None)
        if entry is not None:
            self._push(entry[1], next(self._order))
            self._on_released()
