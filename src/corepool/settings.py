"""The engine's tunables, in one documented object.

Pass ``settings=Settings(...)`` to a pool or executor to change them; tests shrink them to force
edge cases instead of patching module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    target_chunk_seconds: float = 0.01
    """How long one automatically sized chunk should take to run.  A round trip to a worker process
    costs ~50-100 µs, so 10 ms keeps that under 1 %; much larger and the last chunks of a map leave
    workers idle at the end (``benchmarks/`` 200k tiny tasks and 64 x 25 ms tasks chose it)."""

    min_chunks_per_worker: int = 4
    """Automatic chunks of a map whose length is known are at most ``len / (workers * this)``
    items, so work still spreads evenly when tasks are tiny (``multiprocessing`` uses 4 too)."""

    max_chunk_items: int = 16_384
    """Upper bound on an automatic chunk; together with the window it bounds the parent's memory
    when streaming tiny items from an endless iterator (8 chunks in flight: a few MB of small
    values; 65,536 grew the parent by ~25 MB in benchmarks/imap_memory)."""

    queued_chunks_per_worker: int = 1
    """How many chunks a worker that can queue them (processes) may hold behind the one it runs,
    so that it starts the next the moment it ends the last instead of waiting a round trip to
    the parent (~0.1 ms on an idle machine; ~9 ms a chunk in traces of benchmarks/cpu while other
    sessions loaded this 2-core machine, as much as 1/3 of a 25 ms task).  Only for a map whose
    chunk times are measured and regular, and not for its last chunks.  What it can cost: a
    chunk queued behind a task that turns out long waits for it, so another worker may idle at
    the end for at most that queued chunk's (regular, measured) time.  0: never."""

    regular_time_spread: float = 3.0
    """Chunk times count as regular while the slowest of the job's recent chunks took at most this
    many times the fastest per item.  A chunk queued behind another then waits at most ~this
    long; with 2 workers it cannot be left behind at the end unless the chunk ahead of it runs
    3x (workers + 1) longer than the others, which this rules out."""

    window_chunks_per_worker: int = 4
    """How many chunks of one streaming call (``imap``, ``map`` over an iterator) may be taken from
    the input and not yet handed to the consumer, per worker.  Larger keeps workers busier when
    task times vary; smaller bounds memory tighter."""

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

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT_SETTINGS = Settings()
