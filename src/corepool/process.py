"""``multiprocessing``'s process API, with corepool's start method.

``corepool.Process`` is the ``Process`` class of corepool's default start method (forkserver where
available, see ``docs/guide.md``), so code written for ``multiprocessing.Process`` runs unchanged
after switching the import, and the corepool objects it passes to its children (locks, queues,
shared values and dicts) travel under every start method.  ``current_process``,
``active_children``, ``parent_process`` and ``cpu_count`` are ``multiprocessing``'s own.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from corepool._lifecycle.start_method import resolve_context

__all__ = ["Process", "active_children", "cpu_count", "current_process", "parent_process"]

Process: Any = resolve_context(None).Process  # type: ignore[attr-defined]
current_process = multiprocessing.current_process
active_children = multiprocessing.active_children
parent_process = multiprocessing.parent_process
cpu_count = multiprocessing.cpu_count
