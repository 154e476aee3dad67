"""Chunks of a ``map(abs)`` call made without a pool, for the engine's pure parts."""

from __future__ import annotations

from corepool._engine.chunking import ChunkSizer
from corepool._engine.sinks import SingleSink
from corepool._engine.tasks import Chunk, Job, TaskOptions
from corepool._wire.messages import CallStyle
from corepool.settings import Settings


def chunk_of(size: int, *, retries: int = 0, timeout: float | None = None) -> Chunk:
    """A chunk of ``size`` items starting at item 10 (so that item index and start differ)."""
    sink = SingleSink(lambda value: None, lambda error: None)
    options = TaskOptions(retries=retries, timeout=timeout)
    job = Job(abs, CallStyle.ONE, options, sink, ChunkSizer(abs, 1, Settings()), "map(abs)")
    return Chunk(job, 10, list(range(size)))
