"""Automatic chunk sizes from the measured time per item.

A round trip to a worker process costs ~50-100 µs, so a 1 µs function sent one item at a time
spends 99 % of its time on the trip.  The sizer starts with single items, two per worker (so long
tasks spread over the workers from the start, and a worker done with its first finds the next
waiting), measures the time the workers report per item, and from then on
cuts chunks that take ``target_chunk_seconds``, capped so that a map of known length still gives
every worker several chunks.

A function mapped before starts from the time per item its last call measured, but only
provisionally: its first chunks (two per worker, half the remembered size, so that a worker has
the second while the first is measured) go out before the feeder waits for this call's own first
measurement.  The same function may take far longer on these arguments (``map(burn, [1000] * 4)``
then ``map(burn, [10**6] * 64)``): a remembered estimate may mis-size only those chunks, never cut
the whole window from a stale memory.

An item seen recently to take a whole target or more makes the next chunks single items again,
whatever the average says: a run of short items must not hide the long one among them
(benchmarks/fib, benchmarks/primes).

Items that keep their workers on the CPU (a chunk's CPU time is most of its run time) are cut
into chunks of ``cpu_bound_chunk_seconds`` (0.1 s) instead, in a map of known length: while such
workers keep every core busy, each message takes a core from a worker (the parent must run to
read the result and send the next chunk; figures with the setting).  Only items shorter than
that chunk are batched; the long-item rule below counts against it.

Towards the end of a map of known length, chunks shrink: none holds more than half of a worker's
share of the items left (down to a tenth of the target time), so that the workers run out of
work together instead of one finishing a last large chunk while the others idle (guided
scheduling; benchmarks/bench_dask.py, 200 x 20 ms).  CPU-bound chunks hold up to a whole share:
they end in single items all the same, after fewer chunks, each of which is a message at a
time when no chunk may wait queued in a worker (``queueing.near_the_end``).
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
# Each new chunk's measurement counts fully and the history decays by this factor, so the estimate
# is a ratio of (decayed) sums: a 25,000-item chunk outweighs a single-item probe, whose time is
# dominated by fixed costs (benchmarks/tiny_map: probes overestimated the cost per item ~100x).
_DECAY = 0.5
# After a long item, this many chunks per worker are single items: every worker's next two.
_SINGLE_AFTER_LONG_PER_WORKER = 2
# At the tail of a map of known length, a chunk holds at most 1/(this x workers) of what is left,
# but is not cut below this fraction of the target time: a chunk that short costs more in round
# trips than it can leave a worker idle (tiny tasks keep their chunks to the end).
_TAIL_SHARES_PER_WORKER = 2
# ...and for CPU-bound chunks (``cpu_bound_chunk_seconds``), of 1/(this x workers).  Near the
# end nothing is queued in a worker, so each chunk there is a message to a worker that stopped
# for it, and every message takes a core from a busy worker: with 2 shares 64 x 25 ms on 2
# workers ended in 9 chunks after the last full one (3, 3, 2, 2, then five single items); with 1
# share, in 3 (2, 1, 1).  The map's time moved by less than this machine's noise (+-2 %;
# benchmarks/run.py -w cpu_plans has the plans that differ most).  Tails of waiting work keep 2
# shares: their messages take no core from a worker.
_CPU_BOUND_TAIL_SHARES_PER_WORKER = 1
_TAIL_FLOOR = 0.1
# Until the estimate settles, this many chunks per worker may be out unmeasured (a recalled
# estimate's first ones at half its size): a worker has its second while its first is measured.
_UNSETTLED_CHUNKS_PER_WORKER = 2
# The estimate settles once a chunk of several items ran for this fraction of the target (a
# single-item probe of a tiny function measures mostly fixed costs: ~50 µs for ``x * x``, 25x
# its time, or 0.6 ms when preempted), or once it says the items are long or the chunks at
# their cap anyway.  Before, a probe's estimate cut the whole window: 7 chunks of 190 tiny
# items, each a round trip, queued ahead of the first full chunk (benchmarks/tiny_map).
_SETTLED_FRACTION = 0.1
# The estimate kept for a function's next call is updated once it is this far (relative) off.
_REMEMBER_CHANGE = 0.1
# Items are CPU-bound when their chunks' CPU time is at least this share of the time they ran
# (not counting the time a worker was ready but queued for a core).
_CPU_BOUND_SHARE = 0.8


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
        self._cpu_bound_target = max(self._target, settings.cpu_bound_chunk_seconds)
        self._probes = max(1, workers)
        self._tail_shares = max(1, workers) * _TAIL_SHARES_PER_WORKER
        self._cpu_bound_tail_shares = max(1, workers) * _CPU_BOUND_TAIL_SHARES_PER_WORKER
        self._left = total
        """Items of a map of known length not cut into chunks yet (None: length unknown)."""
        if total is not None:
            per_worker = max(1, workers * settings.min_chunks_per_worker)
            self._cap = max(1, min(settings.max_chunk_items, math.ceil(total / per_worker)))
        else:
            self._cap = settings.max_chunk_items
        self._lock = threading.Lock()
        self._measured = None if explicit is not None else threading.Condition(self._lock)
        """Where the feeder waits for a first measurement: only an automatic sizer's feeder
        does (a ``Condition`` is built in Python: ~1-2 µs of every ``apply_async``)."""
        self._seconds = 0.0
        self._items = 0.0
        self._per_item: float | None = None
        """``_seconds / _items`` once measured: read without the lock, one float (per chunk,
        ``seconds_for`` is asked several times; the lock cost more than the division)."""
        self._remembered: float | None = None
        self._issued = 0
        self._single_after_long = max(2, workers * _SINGLE_AFTER_LONG_PER_WORKER)
        self._long_seen = 0
        """How many of the last chunks ran an item that took a target or more (counts down)."""
        self._first_chunks = self._probes * _UNSETTLED_CHUNKS_PER_WORKER
        """Chunks cut before this call's first measurement: two per worker, so that a worker
        that finishes its first finds the next pending instead of waiting for this sizer to
        hear of the measurement and the feeder to cut it (two thread hand-overs: the tutorial's
        is_prime started its second prime up to 7 ms after the instant first item ended)."""
        self._recorded = 0
        """Chunks of this call measured (a recalled estimate is provisional until one is)."""
        self._cpu = 0.0
        self._running = 0.0
        """Decayed sums of the chunks' CPU time and of the time they were on a core, so far:
        their ratio says whether the items are CPU-bound (``_chunk_target``)."""
        self._items_largest = 0
        self._settled = False
        """Whether the estimate can be trusted to cut a whole window (see ``record``)."""
        recalled = _recall(fn)
        if recalled is not None:
            self._seconds, self._items = recalled, 1.0
            self._per_item = self._remembered = recalled

    @property
    def explicit(self) -> bool:
        return self._explicit is not None

    def next_size(self) -> int:
        """The size of the next chunk to cut (called by the feeder, which may wait here).

        Before anything is measured, two single items go to each worker's way (or, from a
        recalled estimate, two half-size chunks).  Until the estimate settles, the feeder then
        waits for a measurement whenever two chunks per worker are out unmeasured, instead of
        filling the window with chunks cut from a first guess; it cuts single items while
        nothing of this call is measured.  It waits up to the longest chunk it may cut
        (``cpu_bound_chunk_seconds``): the first item to end brings the measurement, and each
        worker has a second chunk meanwhile.  Waiting one target (10 ms) cut 64 x 25 ms into
        six or seven single items before the first measurement, two or three of them only
        because the wait ran out, each a message to a worker that stopped to wait for it.
        """
        measured = self._measured
        if measured is None:  # an explicit size
            assert self._explicit is not None
            return self._cut(self._explicit)
        with measured:
            if not self._settled and self._issued - self._recorded >= self._first_chunks:
                measured.wait(self._cpu_bound_target)
            unmeasured = not self._recorded
            self._issued += 1
            shares = self._tail_shares
            if (
                self._items == 0
                or self._long_seen
                or (unmeasured and self._issued > self._first_chunks)
            ):
                size = floor = 1
            else:
                per_item = self._seconds / self._items
                target = self._chunk_target()
                if target > self._target:
                    shares = self._cpu_bound_tail_shares
                size = self._cap if per_item <= 0 else int(target / per_item)
                size = max(1, min(self._cap, size))
                if unmeasured:  # from a recalled estimate: provisional
                    size = max(1, size // 2)
                floor = max(1, int(self._target * _TAIL_FLOOR / per_item)) if per_item > 0 else size
            left = self._left
            if left is not None:
                size = min(size, max(floor, -(-left // shares)))
        return self._cut(size)

    def _cut(self, size: int) -> int:
        """Count ``size`` items of a map of known length as cut (the feeder cuts them next)."""
        if self._left is not None:
            self._left = max(0, self._left - size)
        return size

    @property
    def items_left(self) -> int | None:
        """Items of a map of known length not cut into chunks yet; None if its length is not
        known (a stream)."""
        return self._left

    @property
    def cuts_at_once(self) -> bool:
        """Whether ``next_size`` will answer without waiting for a measurement: a chunk size
        was given, the estimate settled, or fewer chunks than the first ones are out unmeasured.
        (Read by the feeder, the only caller of ``next_size``: only it can turn this False.)"""
        if self._explicit is not None or self._settled:
            return True
        return self._issued - self._recorded < self._first_chunks

    def seconds_for(self, items: int) -> float | None:
        """How long ``items`` items should take to run; None before anything was measured."""
        per_item = self._per_item
        return None if per_item is None else per_item * items

    @property
    def chunk_seconds(self) -> float:
        """How long the chunks cut now are meant to run (``_chunk_target``)."""
        with self._lock:
            return self._chunk_target()

    def _chunk_target(self) -> float:
        """How long a chunk should run: ``cpu_bound_chunk_seconds`` for CPU-bound items of a map
        of known length (the tail rule of ``next_size`` then shrinks its last chunks), else
        ``target_chunk_seconds``.  Read under ``_lock``."""
        cpu_bound = self._running > 0 and self._cpu >= _CPU_BOUND_SHARE * self._running
        return self._cpu_bound_target if cpu_bound and self._left is not None else self._target

    def record(
        self, items: int, seconds: float, cpu_seconds: float = 0.0, queued_seconds: float = 0.0
    ) -> None:
        """A chunk of ``items`` items ran in ``seconds`` (as measured by its worker), of which
        the worker spent ``cpu_seconds`` on the CPU and ``queued_seconds`` ready but waiting
        for a core (0: not measured)."""
        if items <= 0:
            return
        with self._lock:
            self._cpu = self._cpu * _DECAY + cpu_seconds
            self._running = self._running * _DECAY + max(0.0, seconds - queued_seconds)
            self._recorded += 1
            if not self._settled and items > self._items_largest:
                # While the estimate settles, the chunk with the most items says the most (and
                # this call's first replaces a recalled estimate): a probe's fixed costs, or a
                # preempted probe (0.6 ms for ``x * x``), mixed into the decayed sums kept the
                # next chunks at 23, then 664 items.
                self._items_largest = items
                self._seconds, self._items = seconds, float(items)
            else:
                self._seconds = self._seconds * _DECAY + seconds
                self._items = self._items * _DECAY + items
            per_item = self._per_item = self._seconds / self._items
            self._note_recent(items, seconds)
            if not self._settled:  # only then may a feeder be waiting here
                self._settled = (
                    self._long_seen > 0
                    or (items > 1 and seconds >= self._target * _SETTLED_FRACTION)
                    or per_item * self._cap <= self._target  # at the cap anyway
                    or per_item * 2 > self._target  # single items anyway
                )
                if self._measured is not None:
                    self._measured.notify_all()
        # Remembered for the next call of the function when it moved noticeably, not at every
        # chunk (a weak dictionary behind a lock: the dearest step of recording a chunk).
        remembered = self._remembered
        if remembered is None or abs(per_item - remembered) > _REMEMBER_CHANGE * remembered:
            self._remembered = per_item
            _remember(self._fn, per_item)

    def _note_recent(self, items: int, seconds: float) -> None:
        if seconds / items >= self._chunk_target():
            self._long_seen = self._single_after_long
        elif self._long_seen:
            self._long_seen -= 1


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
