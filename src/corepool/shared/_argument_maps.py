"""Where a worker maps the shared-memory segments of large task arguments.

Each argument is mapped copy-on-write (``memory.map_private``): reading costs no copy, and a
task that writes into its argument changes only its own pages, as it would a pickled copy.
"""

from __future__ import annotations

from corepool.shared import memory


def view(name: str, size: int) -> memoryview:
    """The ``size`` bytes of argument segment ``name``, for one task, copy-on-write."""
    return memoryview(memory.map_private(name, size))[:size]
