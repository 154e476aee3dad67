"""Short chunks sent to a busy worker ahead of time, so that it never waits for the parent.

    pending ─▶ an idle worker: slot.chunk                        (the dispatcher, as always)
            └▶ a busy worker's slot.queued, while what is queued there is estimated to run
               for less than Settings.worker_queue_seconds          (here)

    worker: runs slot.chunk ─ Done ─▶ parent: chunk_finished ─▶ slot.chunk = next queued
            └▶ reads the next call, already waiting in its channel, and runs it at once

Without a queue, a worker that finishes a chunk waits for the parent to hear of it and send the
next: ~0.1 ms on an idle machine, up to the interpreter's 5 ms switch interval when the parent's
threads (the caller consuming results among them) compete for the GIL.  Against automatic chunks
of ~10 ms that is little; against the ~0.3 ms chunks of ``chunksize=1000`` over a tiny function,
the workers sat idle over half the time (benchmarks/imap_chunksize).

Only what is cheap to hold back is queued, so that the reasons for one chunk per worker (exact
priorities, no worker holding work while another idles) still hold to within
``worker_queue_seconds``: chunks whose duration is known from earlier chunks of the call (a
single task's, from earlier calls of its function), which are not longer than that themselves,
without a timeout (its clock starts when a chunk is handed over), behind a worker that runs such
a chunk itself (never behind a long task or one of unknown length, where they could not move to
a worker that frees up meanwhile), on workers that say they queue (``WorkerHandle.queues_chunks``)
and are neither starting nor stopping, and nothing at all while a worker of the
pool is starting: what is pending is for it, not for a queue behind a task that may turn out
long (the tutorial's is_prime put both long tasks on one worker while the other came up).  The
parent still knows every chunk a worker holds; ``position()`` says which one it is at.  A
streaming call whose chunks are that short gets a wider window, so that there is something to
queue (``window_slots``).

A longer chunk of a map (up to ~50 ms) may also wait, one-deep, behind a busy worker that holds
nothing else queued, while the call is far from its end (``long_queueable_seconds``): on a
machine whose cores the workers keep busy, the parent must be scheduled before it can send the
next task, and workers running 25 ms tasks sat idle ~6 % of the time waiting for it.

A worker that can give a queued chunk back (``WorkerHandle.withdraws_queued``: worker threads)
is sent the next chunk of a map one-deep whatever its length and however near the end
(``OneDeep.earliest``): what the rules above guard against, a chunk waiting behind a long task
while another worker idles, is undone instead (``withdraw_for_idle``: the dispatcher takes the
chunk back for the idle worker).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from corepool._engine.chunking import ChunkSizer
from corepool._engine.slots import Slot
from corepool._engine.tasks import Chunk
from corepool._engine.window import Window
from corepool._wire.messages import CallStyle
from corepool.settings import Settings

_FAR_FROM_END = 2
"""Chunks per worker that must be pending for a longer chunk to be queued (``long_queueable``)."""
_LONGEST_QUEUED = 0.05
"""Seconds: a chunk estimated longer never waits behind a busy worker.  What queueing saves is
one round trip to the parent per chunk (~1-2 ms while the workers keep the cores busy); what it
risks is a worker left idle at the end of the call while a queued chunk waits elsewhere.  Past
~50 ms the saving is under 3 % and the risk grows with the chunk (benchmarks/fib: 25-180 ms
tasks, longest last, ran ~8 % slower when every chunk could be queued)."""


class OneDeep:
    """The busy workers a chunk may wait behind one-deep (``one_deep_candidates``), found when
    a chunk first needs them and kept for the next chunks of the same round of placing (each
    then costs less than a scan of every worker: 64 threads were handed 64 chunks in ~1.8 ms,
    holding the GIL that the threads needed to start them)."""

    def __init__(self, slots: Sequence[Slot], withdrawing: bool) -> None:
        self._slots = slots
        self._withdrawing = withdrawing
        """Some worker can give a queued chunk back (else none is looked for)."""
        self._found: list[Slot] | None = None

    def earliest(self, *, withdrawable: bool) -> Slot | None:
        if withdrawable and not self._withdrawing:
            return None
        if self._found is None:
            self._found = one_deep_candidates(self._slots)
        return _earliest(self._found, withdrawable=withdrawable)


def place(
    chunk: Chunk,
    slots: Sequence[Slot],
    limit: float,
    most: int,
    ready: int,
    one_deep: OneDeep | None = None,
) -> tuple[Slot, float] | None:
    """Where ``chunk`` may wait behind a busy worker, with how long it should run; None if
    nowhere.  ``ready``: how many chunks are pending (``chunk`` included).  ``one_deep``: kept
    from placing the chunks before this one (see ``OneDeep``)."""
    slot: Slot | None = None
    seconds: float | None = None
    if one_deep is None:
        one_deep = OneDeep(slots, withdrawing=any(_withdraws(slot) for slot in slots))
    if not near_the_end(chunk, ready, len(slots)):
        seconds = queueable_seconds(chunk, limit)
        if seconds is not None:
            slot = slot_with_room(slots, limit, most)
        else:
            seconds = long_queueable_seconds(chunk, ready, len(slots))
            slot = one_deep.earliest(withdrawable=False) if seconds is not None else None
    if slot is None and map_chunk(chunk):
        slot = one_deep.earliest(withdrawable=True)
        seconds = chunk.job.sizer.seconds_for(len(chunk)) or 0.0
    if seconds is None or slot is None or slot.worker is None:
        return None
    return slot, seconds


def near_the_end(chunk: Chunk, ready: int, workers: int) -> bool:
    """Whether ``chunk`` belongs to the last of a map of known length: fewer than
    ``_FAR_FROM_END`` chunks per worker are left, pending or not cut yet (counting each uncut
    item as one).  Those are never queued: a worker that frees up must find them pending,
    whatever was estimated of the chunk another worker runs.  An estimate from a call's first
    chunks says nothing of an item not measured yet: the tutorial's is_prime map queued its
    last three items, estimated from an instant first one, behind the second prime, and they
    ran after it while the other worker, done with the first prime, sat idle (~3 ms beyond the
    longest task in half the runs; benchmarks/bench_uneven_paired.py)."""
    if workers < 2:  # no other worker to find them
        return False
    left = chunk.job.sizer.items_left
    return left is not None and ready + left < _FAR_FROM_END * workers


def map_chunk(chunk: Chunk) -> bool:
    """A chunk of a map without a timeout, which may wait behind a busy worker even when longer
    than the short queue holds (``long_queueable_seconds``, ``OneDeep``): never a single task,
    which only a short queue takes (a queued task has started: its future cannot be cancelled,
    and its call's cancel stops the worker that reaches it), nor a timeout, whose clock starts
    when the chunk is handed over."""
    job = chunk.job
    return job.style is not CallStyle.APPLY and job.options.timeout is None


def queueable_seconds(chunk: Chunk, limit: float) -> float | None:
    """How long ``chunk`` should run, if it may wait in a busy worker's queue; else None."""
    job = chunk.job
    if limit <= 0 or job.options.timeout is not None:
        return None
    seconds = job.sizer.seconds_for(len(chunk))
    if seconds is None or seconds > limit:
        return None
    return seconds


def long_queueable_seconds(chunk: Chunk, ready: int, workers: int) -> float | None:
    """How long ``chunk`` should run, if it may wait one-deep behind a busy worker although it
    is too long for the short queue (up to ``_LONGEST_QUEUED``); else None.

    A worker running tasks of ~25 ms each otherwise waits for the parent between every two of
    them, and on a machine whose cores the workers keep busy the parent must first be scheduled:
    the workers sat idle ~6 % of the time (benchmarks/cpu, 64 x 25 ms).  Only while at least
    ``_FAR_FROM_END`` chunks per worker wait besides: near the end of the call a freed worker
    must find the last chunks pending, not queued behind another one.
    """
    if not map_chunk(chunk) or ready < _FAR_FROM_END * workers:
        return None
    sizer = chunk.job.sizer
    seconds = sizer.seconds_for(len(chunk))
    # CPU-bound items are cut into longer chunks (``cpu_bound_chunk_seconds``) so that they
    # cost fewer messages: each would otherwise wait for the parent's round trip (~0.45 ms
    # while the workers keep the cores busy, 64 x 25 ms in chunks of 4).
    longest = max(_LONGEST_QUEUED, sizer.chunk_seconds)
    return seconds if seconds is not None and seconds <= longest else None


def _takes_queued_work(slot: Slot) -> bool:
    """A ready, busy worker that queues chunks and is not on its way out."""
    worker = slot.worker
    return (
        worker is not None
        and worker.queues_chunks
        and slot.ready
        and slot.chunk is not None
        and slot.stop_reason is None
    )


def one_deep_candidates(slots: Sequence[Slot]) -> list[Slot]:
    """The busy workers a longer chunk may wait behind, one-deep: running a chunk of a map
    (never behind a single task), with nothing queued; the one handed its chunk first (it
    should be the first to finish) last."""
    found = [
        slot
        for slot in slots
        if _takes_queued_work(slot)
        and slot.chunk is not None  # (for the type checker: _takes_queued_work says so)
        and map_chunk(slot.chunk)
        and not slot.queued
    ]
    found.sort(key=lambda slot: slot.assigned_ns, reverse=True)
    return found


def _earliest(candidates: list[Slot], *, withdrawable: bool) -> Slot | None:
    """The last of ``candidates`` that still holds nothing queued (dropping those that do now)
    and, with ``withdrawable``, can give a queued chunk back."""
    for index in range(len(candidates) - 1, -1, -1):
        slot = candidates[index]
        if slot.queued:
            del candidates[index]
        elif not withdrawable or _withdraws(slot):
            return slot
    return None


def slot_for_long(slots: Sequence[Slot]) -> Slot | None:
    """The busy worker a longer chunk may wait behind (see ``one_deep_candidates``)."""
    return _earliest(one_deep_candidates(slots), withdrawable=False)


def withdraw_job(slots: Sequence[Slot], job_id: int) -> list[Chunk]:
    """Take back the queued chunks of a cancelled job that their workers have not started
    (from workers that can give them back): they must not start, as a pending one would not."""
    taken: list[Chunk] = []
    for slot in slots:
        if slot.queued and _withdraws(slot):
            taken += _take_back(slot, [chunk for chunk, _ in slot.queued if chunk.job.id == job_id])
    return taken


def withdraw_for_idle(slots: Sequence[Slot]) -> Chunk | None:
    """Take back a queued chunk that a worker has not started, for a worker that is idle while
    nothing is pending: the last in the queue of the worker handed its chunk last (it should
    be the last to get to it).  None if there is none to take."""
    holders = [slot for slot in slots if slot.queued and _withdraws(slot)]
    holders.sort(key=lambda slot: slot.assigned_ns, reverse=True)
    for slot in holders:
        taken = _take_back(slot, [slot.queued[-1][0]])
        if taken:
            return taken[0]
    return None


def _withdraws(slot: Slot) -> bool:
    return slot.worker is not None and slot.worker.withdraws_queued


def _take_back(slot: Slot, chunks: list[Chunk]) -> list[Chunk]:
    """Those of ``chunks`` (queued on ``slot``) its worker gave back, out of the slot's queue."""
    assert slot.worker is not None
    taken = [chunk for chunk in chunks if slot.worker.withdraw(chunk)]
    if taken:
        kept = [(chunk, seconds) for chunk, seconds in slot.queued if chunk not in taken]
        slot.queued.clear()
        slot.queued.extend(kept)
        slot.queued_seconds = sum(seconds for _, seconds in kept)
    return taken


def slot_with_room(slots: Sequence[Slot], limit: float, most: int) -> Slot | None:
    """The busy worker with the least queued work, if it has less than ``limit`` seconds and
    fewer than ``most`` chunks queued, and runs a chunk that may have others queued behind it:
    nothing waits behind a long task or one of unknown length, where it could not move to a
    worker that frees up meanwhile, nor behind one that has run ``limit`` past its estimate (a
    function that is quick but for this call, waiting on a lock say: what the worker was sent
    before stays queued, no more joins it)."""
    best: Slot | None = None
    now = time.monotonic_ns()
    for slot in slots:
        if (
            _takes_queued_work(slot)
            and slot.running_seconds is not None
            and slot.running_seconds <= limit  # a long chunk queued earlier may run now
            and (now - slot.assigned_ns) * 1e-9 <= slot.running_seconds + limit
            and slot.queued_seconds < limit
            and len(slot.queued) < most
            and (best is None or slot.queued_seconds < best.queued_seconds)
        ):
            best = slot
    return best


def window_slots(base: int, workers: int, chunk_seconds: float | None, settings: Settings) -> int:
    """The window of a streaming call whose chunks run ``chunk_seconds``: ``base``, plus room
    for each worker to hold its queue of them.

    With ``chunksize=1000`` of a tiny function (~0.3 ms a chunk) the base window of 4 chunks a
    worker left the queues ~1 ms deep, and the workers still waited for the parent before 40 % of
    their chunks (strace of a worker, benchmarks/imap_chunksize).  Chunks long enough to run
    alone are never queued, and keep the base window.
    """
    limit = settings.worker_queue_seconds
    if chunk_seconds is None or limit <= 0 or chunk_seconds > limit:
        return base
    queued = min(settings.max_queued_chunks, math.ceil(limit / max(chunk_seconds, 1e-9)))
    return base + workers * queued


def enqueue(slot: Slot, chunk: Chunk, seconds: float) -> None:
    slot.queued.append((chunk, seconds))
    slot.queued_seconds += seconds


def next_queued(slot: Slot) -> Chunk | None:
    """The chunk the worker runs after its current one (taken out of the queue), if any."""
    if not slot.queued:
        return None
    chunk, seconds = slot.queued.popleft()
    slot.queued_seconds = max(0.0, slot.queued_seconds - seconds) if slot.queued else 0.0
    slot.running_seconds = seconds
    return chunk


def take_queued(slot: Slot) -> list[Chunk]:
    """Every queued chunk, in the order the worker would have run them (the worker is gone)."""
    chunks = [chunk for chunk, _ in slot.queued]
    slot.queued.clear()
    slot.queued_seconds = 0.0
    return chunks


class WindowWidening:
    """Widens a streaming call's window (the feeder calls it for each chunk it cuts)."""

    # A plain class: a dataclass costs ~1 ms to define, paid by every program's first pool.
    def __init__(
        self, window: Window, sizer: ChunkSizer, workers: int, settings: Settings, base: int
    ) -> None:
        self.window = window
        self.sizer = sizer
        self.workers = workers
        self.settings = settings
        self.base = base

    def after_cut(self, items: int) -> None:
        seconds = self.sizer.seconds_for(items)
        self.window.grow_to(window_slots(self.base, self.workers, seconds, self.settings))
