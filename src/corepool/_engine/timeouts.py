"""Per-task timeouts: when a worker has run its current item (or read or packed it) too long.

A chunk's timeout counts per item, from when the worker started that item (its ``position()``),
not from when the chunk was sent: a chunk of ten 1-second items with ``timeout=2`` is on time.
Until the worker has read the chunk, the clock runs from the hand-over (a chunk goes only to a
worker that is ready: one in its initializer has not begun it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from corepool._engine.event_loop import EventLoop
from corepool._engine.slots import Slot
from corepool._engine.tasks import Chunk


class TaskTimeouts:
    def __init__(self, loop: EventLoop, expired: Callable[[Slot], None]) -> None:
        self._loop = loop
        self._expired = expired
        """Called on the loop thread for a slot whose worker is to be stopped."""

    def watch(self, slot: Slot, chunk: Chunk) -> None:
        """The chunk was handed to the slot's worker: check it once its timeout may have run."""
        timeout = chunk.job.options.timeout
        if timeout is not None:
            slot.timer = self._loop.call_later(timeout, self._check, slot, chunk)

    def _check(self, slot: Slot, chunk: Chunk) -> None:
        slot.timer = None
        worker = slot.worker
        if slot.chunk is not chunk or worker is None:
            return
        timeout = chunk.job.options.timeout
        assert timeout is not None
        position = worker.position()
        if not slot.ready:
            started = time.monotonic_ns()
        elif position.chunk_id != chunk.id:
            started = slot.assigned_ns
        else:
            started = position.started_ns
        left = timeout - (time.monotonic_ns() - started) / 1e9
        if left > 0:
            slot.timer = self._loop.call_later(left, self._check, slot, chunk)
        else:
            self._expired(slot)
