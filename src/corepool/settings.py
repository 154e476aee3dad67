"""The engine's tunables, in one documented object.

Pass ``settings=Settings(...)`` to a pool or executor to change them; tests shrink them to force
edge cases instead of patching module globals.

``Settings`` is a record (``_record.Record``: a ``typing.NamedTuple`` to the type checker, the same
kind of tuple at run time): frozen, compared and shown like the frozen dataclass it was, with
``replace()`` for a changed copy.  A dataclass made every program import ``dataclasses`` (and
``inspect`` with it) and build its methods at import: ~10-30 ms of the first pool on a loaded
2-core machine, as much as ``multiprocessing``'s own import; a ``typing.NamedTuple``, which
compiles a ``__new__`` for its 15 fields, ~0.4 ms (benchmarks/start_first).
"""

from __future__ import annotations

from corepool._record import Record

__all__ = ["Settings"]


class Settings(Record):
    target_chunk_seconds: float = 0.01
    """How long one automatically sized chunk should take to run.  A round trip to a worker process
    costs ~50-100 µs, so 10 ms keeps that under 1 %; much larger and the last chunks of a map leave
    workers idle at the end (``benchmarks/`` 200k tiny tasks and 64 x 25 ms tasks chose it)."""

    cpu_bound_chunk_seconds: float = 0.1
    """How long an automatically sized chunk of a map of known length should take to run when
    its items keep their workers on the CPU (their CPU time is most of their run time).  Workers
    that keep every core busy pay for each message far more than the round trip of an idle
    machine: the parent must take a core from one of them to read a result and send the next
    chunk.  64 tasks of 25 ms on 2 workers sent one by one ran 1.5-2.3 % slower than in these
    chunks (timed round by round, benchmarks/bench_uneven_paired.py, ``cpu``); 0.2 and 0.4 s
    measured no better.  The last chunks of the map still shrink to single items, so the workers
    finish together.  Items of this long or longer run alone; anything up to
    ``target_chunk_seconds`` turns it off."""

    min_chunks_per_worker: int = 4
    """Automatic chunks of a map whose length is known are at most ``len / (workers * this)``
    items, so work still spreads evenly when tasks are tiny (``multiprocessing`` uses 4 too)."""

    max_chunk_items: int = 16_384
    """Upper bound on an automatic chunk; together with the window it bounds the parent's memory
    when streaming tiny items from an endless iterator (8 chunks in flight, ~12 once such chunks
    are known to be short enough to queue: a few MB of small values, +4 MB in
    benchmarks/imap_memory; 65,536 grew the parent by ~25 MB)."""

    window_chunks_per_worker: int = 4
    """How many chunks of one streaming call (``imap``, ``map`` over an iterator) may be taken from
    the input and not yet handed to the consumer, per worker.  Larger keeps workers busier when
    task times vary; smaller bounds memory tighter."""

    worker_queue_seconds: float = 0.005
    """A worker running a short chunk (of a map, or a single task) is sent the next chunks too,
    while those queued behind it are estimated to take less than this: it starts each as soon as
    the last ends, instead of waiting for the parent's round trip (~0.1 ms idle, but up to the
    interpreter's 5 ms switch interval while the parent's threads compete for the GIL).  With
    ``chunksize=1000`` of a 0.2 µs function, each chunk is ~0.3 ms of work: one chunk at a time
    left the workers idle over half the time (benchmarks/imap_chunksize).  A single task queued
    so has started: its future is running (see docs/faults.md).  Chunks of unknown duration and
    of calls with a timeout are never queued, nor is anything queued behind them; 0 queues
    nothing.  A chunk of higher priority submitted later waits for the chunks queued ahead of
    it: by the estimates, less than twice this long."""

    max_queued_chunks: int = 32
    """At most this many chunks wait in one worker's queue (``worker_queue_seconds``), and a
    streaming call's window grows by at most this many per worker to make room for them: a
    chunk costs the parent ~1 KB of bookkeeping however few items it holds."""

    min_window_chunks: int = 4
    """Floor of the window, so a one-worker pool still overlaps sending and running."""

    max_start_failures: int = 3
    """Workers in a row that may die before becoming ready before the pool gives up with
    ``WorkerStartError`` (instead of respawning them in a loop forever)."""

    max_unstarted_losses: int = 5
    """How many times a chunk may be lost with its worker before any of its items started (the
    worker died while reading it, or before taking it) and still be run again.  Such losses do
    not count against ``retries``: the chunk did nothing wrong, unless it keeps happening (an
    argument whose unpickling crashes every worker), which this bounds."""

    worker_start_timeout: float | None = None
    """Seconds a worker may take to say it is ready (its initializer included) before it is
    killed and counted as a failed start.  ``None``: wait as long as it takes, as
    ``multiprocessing`` does, since an initializer may legitimately load something large."""

    auto_probe_chunks: int = 8
    """``backend="auto"`` decides after this many chunks (at least one per worker) have run on
    threads, and ``auto_probe_seconds`` of their run time: enough GIL samples to tell waiting
    from computing (``_backends/auto_choice.py``), few enough that a switch comes early."""

    auto_probe_seconds: float = 0.05
    """See ``auto_probe_chunks`` (the GIL sampler takes ~50 samples in 50 ms)."""

    shutdown_grace_seconds: float = 3.0
    """How long ``close()``/``join()`` waits for a worker to exit after being asked, before
    terminating it (SIGTERM), then as long again before killing it (SIGKILL), and as long again
    before declaring it gone (a backend that never reports the exit cannot hang ``join()``)."""

    channel_buffer_bytes: int = 1 << 20
    """Socket buffer for each worker channel: big results then need fewer wake-ups."""

    zygote_max_parent_bytes: int = 256 << 20
    """The default start method forks its server (the *zygote*, ``_lifecycle/zygote.py``) from
    the program only while the program's resident memory is under this: the zygote keeps the
    pages the program had then for as long as the program runs (up to this much more memory if
    the program frees or rewrites them), and forking takes ~1 ms per 100 MB of page tables.  Above
    it, ``multiprocessing``'s forkserver (a fresh interpreter, ~85-150 ms once) serves instead.
    An interpreter with corepool and NumPy imported is ~40 MB."""

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        unknown = changes.keys() - self._fields
        if unknown:  # ``_replace`` says only "Got unexpected field names"
            raise TypeError(f"Settings has no field {', '.join(sorted(unknown))}")
        return self._replace(**changes)  # type: ignore[arg-type]


DEFAULT_SETTINGS = Settings()
