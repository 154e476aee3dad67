"""Fixtures for shared-state tests: start methods, and a leak check of shared memory."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import pytest

from support.processes import START_METHODS
from support.shared_memory import nothing_left_behind


@pytest.fixture(params=START_METHODS)
def mp_context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    """Each test using it runs once per start method."""
    return multiprocessing.get_context(request.param)


@pytest.fixture(autouse=True, scope="module")
def memory_file_system_is_clean() -> Iterator[None]:
    """After each module: no segment or store of ours left, crash tests included."""
    yield from nothing_left_behind()
