"""What this test session has in shared memory: segments and store directories, by janitor id."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

from corepool.shared import memory
from corepool.shared._store import shared_root


def names_of_this_tree() -> set[str]:
    """Everything made through this session's janitor: ``/dev/shm/cp-<id>-*`` and store dirs."""
    address = memory.current_janitor()
    if address is None:
        return set()
    prefix = "cp-" + address.rsplit("-", 1)[-1] + "-"
    found = set()
    for directory in {"/dev/shm", shared_root()}:
        if os.path.isdir(directory):
            found.update(
                os.path.join(directory, name)
                for name in os.listdir(directory)
                if name.startswith(prefix)
            )
    return found


def nothing_left_behind() -> Iterator[None]:
    """Body of a fixture: fails if names made during it are still there once the janitor settles.

    ``settle()`` waits until the janitor has acted on everything it was told, including the
    connections of processes that died (killed workers, crashed owners).
    """
    memory.Segment.create(1).close()  # make sure this session has a janitor to ask
    memory.settle()
    before = names_of_this_tree()
    yield
    gc.collect()
    memory.settle()
    left = names_of_this_tree() - before
    assert not left, f"left in shared memory: {sorted(left)}"
