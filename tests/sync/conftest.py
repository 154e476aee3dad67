"""Fixtures for the sync tests: one suite over threads and every start method, pools of both
backends, and a check that nothing is left in /dev/shm after each module."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool
from support.shared_memory import nothing_left_behind

START_METHODS = ["fork", "forkserver", "spawn"]


@pytest.fixture(scope="module", autouse=True)
def no_leaked_segments() -> Iterator[None]:
    yield from nothing_left_behind()


class ThreadActor:
    """A thread with the slice of the ``multiprocessing.Process`` API the tests use."""

    def __init__(self, target: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.error: BaseException | None = None
        self.exitcode: int | None = None
        self.pid = os.getpid()

        def run() -> None:
            try:
                target(*args)
                self.exitcode = 0
            except BaseException as error:  # noqa: BLE001 - reported by join()
                self.error = error
                self.exitcode = 1

        self._thread = threading.Thread(target=run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error


class Spawner:
    """Starts actors of one kind: ``thread`` or a process with one start method."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.context = None if kind == "thread" else multiprocessing.get_context(kind)

    @property
    def is_thread(self) -> bool:
        return self.context is None

    def start(self, target: Callable[..., object], *args: Any) -> Any:
        if self.context is None:
            actor: Any = ThreadActor(target, args)
        else:
            actor = self.context.Process(target=target, args=args)  # type: ignore[attr-defined]
        actor.start()
        return actor

    def event(self) -> Any:
        return threading.Event() if self.context is None else self.context.Event()  # type: ignore[attr-defined]

    def run_all(self, target: Callable[..., object], argument_lists: list[tuple[Any, ...]]) -> None:
        actors = [self.start(target, *args) for args in argument_lists]
        for actor in actors:
            actor.join(50)
            assert actor.exitcode == 0, f"{self.kind} actor failed with {actor.exitcode}"


@pytest.fixture(params=["thread", *START_METHODS])
def spawner(request: pytest.FixtureRequest) -> Spawner:
    """Each test using it runs once over threads and once per start method."""
    return Spawner(request.param)


@pytest.fixture(params=START_METHODS)
def process_spawner(request: pytest.FixtureRequest) -> Spawner:
    """For tests that kill the other side: processes only, every start method."""
    return Spawner(request.param)


@pytest.fixture(params=["processes", "threads"])
def pool(request: pytest.FixtureRequest) -> Iterator[corepool.Pool]:
    # Per test, not per module: a pool alive while a test forks would be inherited by the
    # forked child, whose exit hook then waits forever for the pool's (absent) threads.
    with corepool.Pool(2, backend=request.param) as running:
        yield running
