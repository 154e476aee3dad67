"""Automatic chunk sizes from the measured time per item.

A round trip to a worker process costs ~50-100 µs, so a 1 µs function sent one item at a time
spends 99 % of its time on the trip.  The sizer starts with single items (so long tasks spread
over the workers from the start), measures the time the workers report per item, and from then on
cuts chunks that take ``target_chunk_seconds``, capped so that a map of known length still gives
every worker several chunks.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable
from typing import Any

from corepool.settings import Settings

# The time per item of functions seen recently, so that the next map of the same function starts
# at the right size instead of probing again.
_recent: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_recent_lock = threading.Lock()
# Weight of the newest measurement in the running estimate.
_SMOOTHING = 0.5


class ChunkSizer:
    def __init__(
        self,
        fn: Callable[..., Any],
        workers: int,
        settings: Settings,
        *,
        total: int | None = None,
        explicit: int | None = None,
    ) -> None:
        if explicit is not None and explicit < 1:
            raise ValueError(f"chunksize must be a positive integer, got {explicit!r}")
        self._fn = fn
        self._explicit = explicit
        self._target = settings.target_chunk_seconds
        if total is not None:
            per_worker = max(1, workers * settings.min_chunks_per_worker)
            self._cap = max(1, min(settings.max_chunk_items, math.ceil(total / per_worker)))
        else:
            self._cap = settings.max_chunk_items
        self._lock = threading.Lock()
        self._seconds_per_item: float | None = _recall(fn)

    @property
    def explicit(self) -> bool:
        return self._explicit is not None

    def next_size(self) -> int:
        if self._explicit is not None:
            return self._explicit
        with self._lock:
            estimate = self._seconds_per_item
        if estimate is None:
            return 1
        if estimate <= 0:
            return self._cap
        return max(1, min(self._cap, int(self._target / estimate)))

    def record(self, items: int, seconds: float) -> None:
        """A chunk of ``items`` items ran in ``seconds`` (as measured by its worker)."""
        if items <= 0:
            return
        sample = seconds / items
        with self._lock:
            previous = self._seconds_per_item
            estimate = (
                sample if previous is None else (_SMOOTHING * sample + (1 - _SMOOTHING) * previous)
            )
            self._seconds_per_item = estimate
        _remember(self._fn, estimate)


def _recall(fn: Callable[..., Any]) -> float | None:
    try:
        with _recent_lock:
            return _recent.get(fn)
    except TypeError:  # not weak-referenceable
        return None


def _remember(fn: Callable[..., Any], estimate: float) -> None:
    try:
        with _recent_lock:
            _recent[fn] = estimate
    except TypeError:
        pass
