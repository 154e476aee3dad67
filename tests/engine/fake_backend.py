"""An in-memory backend for testing the engine against the backend contract (``_backends/base.py``).

Its workers run a chunk on the loop thread, at once, and report through the listener as a real
backend does.  ``Rules`` makes them break one rule of the contract each, so that the tests can
show the engine never hangs and never loops forever whatever a backend does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from corepool._backends.base import (
    Backend,
    Capabilities,
    ChunkFinished,
    ChunkView,
    Loop,
    Outcome,
    Phase,
    WorkerHandle,
    WorkerListener,
    WorkerPosition,
)
from corepool._worker.runner import caller_for


@dataclass(frozen=True)
class Rules:
    never_ready: bool = False
    """The worker never says Ready."""
    dies_before_marking: bool = False
    """Given a chunk, the worker exits at once without marking its position."""
    dies_while_running: bool = False
    """Given a chunk, the worker marks item 0 as running, then exits."""
    hangs: bool = False
    """Given a chunk, the worker marks item 0 as running and never answers."""
    exits_twice: bool = False
    """Every exit is reported twice."""
    kill_without_exit: bool = False
    """``kill()`` and ``terminate()`` do nothing: no exit is ever reported for them."""
    kills_workers: bool = True
    run_raises: bool = False
    """``run()`` raises (a bug in the backend, seen by the dispatcher on the loop thread)."""


@dataclass
class Counters:
    """What happened, for the tests to check (written on the loop thread)."""

    started: int = 0
    runs: int = 0
    released: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class ListOutcome(Outcome):
    def __init__(self, values: list[Any], errors: dict[int, BaseException]) -> None:
        self._values, self._errors = values, errors

    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        return self._values, self._errors


class FakeBackend(Backend):
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.counters = Counters()
        self.capabilities = Capabilities(
            "fake", kills_workers=rules.kills_workers, isolates_workers=False
        )

    def prepare_job(self, job: Any, *, by_value: bool = False) -> None:
        job.payload = "prepared"

    def prepare_chunk(self, chunk: ChunkView) -> None:
        chunk.payload = list(chunk.items)

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        self.counters.started += 1
        return FakeWorker(index, loop, listener, self)


class FakeWorker(WorkerHandle):
    def __init__(
        self, index: int, loop: Loop, listener: WorkerListener, backend: FakeBackend
    ) -> None:
        self.index = index
        self.name = f"fake-worker-{index}"
        self._loop = loop
        self._listener = listener
        self._backend = backend
        self._rules = backend.rules
        self._position = WorkerPosition(0, Phase.RUNNING, 0, 0)
        self._exited = False
        if not self._rules.never_ready:
            loop.call_soon(listener.worker_ready, self)

    @property
    def pid(self) -> int | None:
        return None

    def position(self) -> WorkerPosition:
        return self._position

    def run(self, chunk: ChunkView) -> None:
        self._backend.counters.runs += 1
        rules = self._rules
        if rules.run_raises:
            raise RuntimeError("the fake backend's run() is broken")
        if rules.dies_before_marking:
            self._exit(-9)
            return
        self._position = WorkerPosition(chunk.id, Phase.RUNNING, 0, 0)
        if rules.dies_while_running:
            self._exit(-9)
            return
        if rules.hangs:
            return
        self._loop.call_soon(self._finish, chunk)

    def _finish(self, chunk: ChunkView) -> None:
        call = caller_for(chunk.job.fn, chunk.job.style)
        values: list[Any] = []
        errors: dict[int, BaseException] = {}
        for index, item in enumerate(chunk.items):
            try:
                values.append(call(item))
            except Exception as error:  # noqa: BLE001 - a task's error is its result
                values.append(None)
                errors[index] = error
        self._position = WorkerPosition(chunk.id, Phase.PACKING, len(chunk.items) - 1, 0)
        self._listener.chunk_finished(
            self, ChunkFinished(chunk.id, ListOutcome(values, errors), 0.0)
        )

    def stop(self) -> None:
        self._exit(0)

    def kill(self) -> None:
        if not self._rules.kill_without_exit:
            self._exit(-9)

    def terminate(self) -> None:
        if not self._rules.kill_without_exit:
            self._exit(-15)

    def release(self) -> None:
        self._backend.counters.released += 1

    def _exit(self, exitcode: int) -> None:
        if self._exited:
            return
        self._exited = True
        self._loop.call_soon(self._listener.worker_exited, self, exitcode)
        if self._rules.exits_twice:
            self._loop.call_soon(self._listener.worker_exited, self, exitcode)
