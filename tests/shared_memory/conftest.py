"""Fixtures for shared-memory tests: start methods, pools, and a /dev/shm leak check."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import pytest

from support.shared_memory import nothing_left_behind


@pytest.fixture(scope="module", autouse=True)
def no_leaked_segments() -> Iterator[None]:
    yield from nothing_left_behind()


@pytest.fixture(params=["fork", "forkserver", "spawn"])
def mp_context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(request.param)
