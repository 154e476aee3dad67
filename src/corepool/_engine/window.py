"""The streaming window: how much of an input may be taken before its results are consumed.

The feeder takes one slot per chunk it cuts from the input and blocks when none is free; a slot
comes back when every item of that chunk has been handed to the consumer (or, for ``map``, stored).
With a consumer that pauses, the feeder therefore pauses too, and the parent's memory stays flat
however long the input is.  Chunks split later (a worker died, an item would not pickle) are
settled item by item against the block the feeder cut, through the ``BlockLedger``.

A call whose chunks turn out to be short gets a wider window (``queueing.window_slots``), so that
its chunks can also wait in the workers' queues; one given a ``buffersize`` keeps it.  A
``buffersize`` wider than the default window gets smaller automatic chunks, so that it holds at
most the items of a few default windows (``items_in_window``).
"""

from __future__ import annotations

import bisect
import threading

from corepool.settings import Settings

_BUDGET_WINDOWS = 4
"""A wide ``buffersize`` holds at most the items of this many default windows.  With one,
``buffersize=64`` of a tiny function cut chunks of 2,048 items, and ran at 0.84x ``Pool.imap``;
with 4 (chunks of 8,192), 0.99x, and the parent's peak stayed under ``imap``'s (+0.5 MB from
0.5 M to 2 M items; benchmarks/executor_buffersize)."""


def items_in_window(settings: Settings, default_slots: int, slots: int) -> int:
    """The largest automatic chunk for a window of ``slots`` chunks, so that a window wider than
    the default one (``default_slots`` chunks) holds no more items than ``_BUDGET_WINDOWS`` of
    those: ``Executor.map(buffersize=64)`` of tiny items held up to 64 x 16,384 and grew the
    parent by 28 MB from 0.5 M to 2 M items (benchmarks/executor_buffersize).  Long tasks never
    reach the bound: their chunks are cut by time, far smaller."""
    budget = _BUDGET_WINDOWS * default_slots * settings.max_chunk_items
    return max(1, min(settings.max_chunk_items, budget // slots))


class Window:
    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"the window needs at least one slot, got {slots!r}")
        self.slots = slots
        self._free = slots
        self._closed = False
        self._condition = threading.Condition()
        self.reading = threading.Lock()
        """Held by the feeder while it reads the input, so that ``close`` can wait for it."""

    def grow_to(self, slots: int) -> None:
        """Make room for ``slots`` chunks in all, if there is less (it never shrinks)."""
        if slots > self.slots:
            with self._condition:
                self._free += slots - self.slots
                self.slots = slots
                self._condition.notify()

    @property
    def _batch(self) -> int:
        # A feeder that found the window full waits for a quarter of it to come back, then cuts
        # that many chunks in a row: one wake-up of its thread (and GIL hand-over) per few chunks
        # rather than per chunk the consumer takes (chunksize=1000: ~2,000 a second).
        return max(1, self.slots // 4)

    def acquire(self) -> bool:
        """Take a slot, waiting for one; False when the window was closed (stop feeding)."""
        with self._condition:
            if self._free == 0:
                while self._free < self._batch and not self._closed:
                    self._condition.wait()
            if self._closed:
                return False
            self._free -= 1
            return True

    def try_acquire(self) -> bool:
        """Take a slot if one is free, without waiting."""
        with self._condition:
            if self._free == 0 or self._closed:
                return False
            self._free -= 1
            return True

    def release(self) -> None:
        with self._condition:
            self._free += 1
            if self._free >= self._batch:
                self._condition.notify()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake the feeder for good: the job was cancelled or abandoned."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def wait_for_reader(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a read of the input in progress to end, so that the caller
        may go on with the input itself (a generator read from two threads at once raises
        ``ValueError``); a read that blocks longer ends in the background."""
        if self.reading.acquire(timeout=timeout):
            self.reading.release()


class BlockLedger:
    """Counts the unsettled items of each block the feeder cut; frees a window slot per block."""

    def __init__(self, window: Window) -> None:
        self._window = window
        self._starts: list[int] = []
        self._remaining: dict[int, int] = {}
        self._lock = threading.Lock()

    def open_block(self, start: int, count: int) -> None:
        with self._lock:
            self._starts.append(start)
            self._remaining[start] = count

    def settle(self, start: int, count: int) -> None:
        """``count`` items from index ``start`` (all inside one block) were consumed."""
        with self._lock:
            position = bisect.bisect_right(self._starts, start) - 1
            if position < 0:
                return
            block = self._starts[position]
            left = self._remaining[block] - count
            if left > 0:
                self._remaining[block] = left
                return
            del self._remaining[block]
            del self._starts[position]
        self._window.release()
