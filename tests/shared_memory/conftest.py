"""Fixtures for shared-memory tests: start methods, pools, and a /dev/shm leak check."""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator

import pytest

from corepool.shared import memory


def segments_of_this_tree() -> set[str]:
    """Names in /dev/shm created through this test session's janitor."""
    address = memory.current_janitor()
    if address is None:
        return set()
    prefix = "cp-" + address.rsplit("-", 1)[-1] + "-"
    return {name for name in os.listdir("/dev/shm") if name.startswith(prefix)}


@pytest.fixture(scope="module", autouse=True)
def no_leaked_segments() -> Iterator[None]:
    memory.Segment.create(1).close()  # make sure this session has a janitor to ask
    memory.settle()
    before = segments_of_this_tree()
    yield
    gc.collect()
    memory.settle()
    leaked = segments_of_this_tree() - before
    assert not leaked, f"segments left in /dev/shm: {sorted(leaked)}"


@pytest.fixture(params=["fork", "forkserver", "spawn"])
def mp_context(request: pytest.FixtureRequest) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(request.param)
