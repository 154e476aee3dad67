"""A Dask slot holds a chunk sent ahead and reports answers in the order the chunks were sent.

Driven by hand: a stand-in for the cluster's futures, a loop that runs callbacks at once and a
listener that records, so the order of events is exact (the cluster tests prove it end to end).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, cast

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs: pip install 'corepool[dask]'")

from corepool._backends.base import ChunkFinished, Flavour, WorkerHandle
from corepool._backends.dask import DaskBackend
from corepool._backends.dask_slot import DaskSlot
from corepool._backends.dask_task import DaskDone


class _Future:
    def __init__(self, name: str) -> None:
        self.name = name
        self._answer: Any = None
        self._callbacks: list[Callable[[_Future], None]] = []

    def add_done_callback(self, callback: Callable[[_Future], None]) -> None:
        self._callbacks.append(callback)

    def result(self) -> Any:
        if isinstance(self._answer, BaseException):
            raise self._answer
        return self._answer

    def finish(self, answer: Any) -> None:
        self._answer = answer
        for callback in self._callbacks:
            callback(self)


class _ClientLoop:
    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def add_callback(self, fn: Callable[..., Any], client: Any, futures: list[_Future]) -> None:
        self.cancelled += [future.name for future in futures]


class _Backend:
    flavour = Flavour.MULTIPROCESSING

    def __init__(self) -> None:
        self.futures: dict[int, _Future] = {}
        self.client = type("Client", (), {"loop": _ClientLoop()})()

    def submit(self, chunk: Any) -> _Future:
        future = self.futures[chunk.id] = _Future(f"chunk {chunk.id}")
        return future

    def forget(self, slot: Any) -> None:
        pass


class _Loop:
    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)

    call_soon_threadsafe = call_soon


class _Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def worker_ready(self, worker: WorkerHandle) -> None:
        self.events.append(("ready", None))

    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None:
        self.events.append(("finished", event.chunk_id))

    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None:
        self.events.append(("exited", exitcode))


class _Chunk:
    def __init__(self, chunk_id: int) -> None:
        self.id = chunk_id
        self.items = [chunk_id]


def _slot() -> tuple[DaskSlot, _Backend, _Listener]:
    backend, listener = _Backend(), _Listener()
    slot = DaskSlot(0, cast(DaskBackend, backend), cast(Any, _Loop()), cast(Any, listener))
    listener.events.clear()  # "ready"
    return slot, backend, listener


def _done(value: int) -> DaskDone:
    return DaskDone(pickle.dumps([value]), {}, 0.01, "tcp://127.0.0.1:1")


def test_a_chunk_sent_ahead_that_finishes_first_waits_for_the_one_before_it() -> None:
    slot, backend, listener = _slot()
    slot.run(cast(Any, _Chunk(1)))
    slot.run(cast(Any, _Chunk(2)))
    assert slot.queues_chunks and slot.position().chunk_id == 1
    backend.futures[2].finish(_done(2))  # ran on another Dask worker, and was quicker
    assert listener.events == []
    backend.futures[1].finish(_done(1))
    assert listener.events == [("finished", 1), ("finished", 2)]


def test_the_position_moves_to_the_chunk_sent_ahead_when_the_first_is_answered() -> None:
    slot, backend, listener = _slot()
    slot.run(cast(Any, _Chunk(1)))
    slot.run(cast(Any, _Chunk(2)))
    backend.futures[1].finish(_done(1))
    assert listener.events == [("finished", 1)]
    assert slot.position().chunk_id == 2 and slot.position().started_ns > 0


def test_a_stopping_slot_exits_once_its_last_chunk_is_answered() -> None:
    slot, backend, listener = _slot()
    slot.run(cast(Any, _Chunk(1)))
    slot.run(cast(Any, _Chunk(2)))
    slot.stop()
    backend.futures[1].finish(_done(1))
    assert ("exited", 0) not in listener.events
    backend.futures[2].finish(_done(2))
    assert listener.events[-1] == ("exited", 0)


def test_a_killed_slot_cancels_every_task_it_still_has_on_the_cluster() -> None:
    slot, backend, listener = _slot()
    slot.run(cast(Any, _Chunk(1)))
    slot.run(cast(Any, _Chunk(2)))
    slot.kill()
    assert listener.events == [("exited", None)]
    assert backend.client.loop.cancelled == ["chunk 1", "chunk 2"]
    backend.futures[1].finish(_done(1))  # it ran on regardless: nobody listens any more
    assert listener.events == [("exited", None)]
