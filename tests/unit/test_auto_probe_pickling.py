"""What ``backend="auto"`` weighs as the cost of pickling: the chunks that ran, in CPU time.

The feeder packs chunks ahead of the workers; counting every chunk packed while probing against
the run time of the few that finished made pickling look dearer than running, and a probe of
CPU-bound Python stayed on threads (seen on a loaded CI machine).  The packing is timed in the
packing thread's CPU time: while the probe's thread workers run Python, that thread waits for
the GIL, which a worker process would not make it do.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from corepool._backends import auto
from corepool._backends.auto import AutoBackend
from corepool._backends.auto_choice import Choice, Observation
from corepool._backends.base import BackendOptions, ChunkFinished
from corepool._backends.pickled_calls import packed_size
from corepool._engine.chunking import ChunkSizer
from corepool._engine.sinks import StreamSink
from corepool._engine.tasks import Chunk, Job, TaskOptions
from corepool._wire.messages import CallStyle
from corepool.settings import Settings


class _Listener:
    def replace_workers(self) -> None:
        pass


def _chunks(count: int) -> list[Chunk]:
    fn = functools.partial(len)
    sizer = ChunkSizer(fn, 2, Settings(), explicit=4)
    job = Job(fn, CallStyle.ONE, TaskOptions(), StreamSink(ordered=True), sizer, "map(len)")
    return [Chunk(job, 4 * index, [b"x" * 1000] * 4) for index in range(count)]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[Observation]:
    observed: list[Observation] = []

    def choose(observation: Observation) -> Choice:
        observed.append(observation)
        return Choice("threads", "recorded by the test")

    monkeypatch.setattr(auto, "choose", choose)
    return observed


def test_only_the_chunks_that_ran_weigh_their_pickling(seen: list[Observation]) -> None:
    settings = Settings(auto_probe_chunks=2, auto_probe_seconds=0.0)
    backend = AutoBackend(BackendOptions(2, settings))
    try:
        chunks = _chunks(10)  # packed ahead: ten, of which two run before the choice
        for chunk in chunks:
            backend.prepare_chunk(chunk)
        for chunk in chunks[:2]:
            event = ChunkFinished(chunk.id, _no_outcome(), seconds=0.5, cpu_seconds=0.5)
            backend.observe(event, _Listener())  # type: ignore[arg-type]
        assert len(seen) == 1
        ran = sum(packed_size(chunk.payload) for chunk in chunks[:2])
        assert seen[0].chunks == 2
        assert seen[0].bytes == ran < sum(packed_size(chunk.payload) for chunk in chunks)
        assert 0 < seen[0].pickle_seconds < 0.5
    finally:
        backend.close()


def test_packing_is_timed_in_cpu_time_not_while_waiting(
    seen: list[Observation], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The packing thread is held up for 0.3 s (as it would be waiting for the GIL) without
    # using the CPU: none of it counts.
    from corepool._backends import pickled_calls

    real_pack = pickled_calls.pack_items
    held_up = threading.Event()

    def slow_pack(chunk: Any) -> None:
        held_up.wait(0.3)
        real_pack(chunk)

    monkeypatch.setattr(pickled_calls, "pack_items", slow_pack)
    settings = Settings(auto_probe_chunks=1, auto_probe_seconds=0.0)
    backend = AutoBackend(BackendOptions(1, settings))
    try:
        (chunk,) = _chunks(1)
        backend.prepare_chunk(chunk)
        backend.observe(
            ChunkFinished(chunk.id, _no_outcome(), seconds=0.01, cpu_seconds=0.01),
            _Listener(),  # type: ignore[arg-type]
        )
        assert seen[0].pickle_seconds < 0.1
    finally:
        backend.close()


def _no_outcome() -> Any:
    return None
