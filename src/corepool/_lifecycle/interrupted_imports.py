"""Repair, in a forked worker, the imports that other parent threads had half done.

The parent runs threads of its own (the dispatcher, the result thread, the user's), and under the
``fork`` start method a worker is forked from the dispatcher while another thread may be in the
middle of importing a module.  The child then inherits that module half-executed in
``sys.modules`` and its import lock held by a thread that does not exist in the child: the first
``import`` of that module in the worker waits for that lock forever (seen: the result thread
importing ``lmdb`` to unpickle a returned ``corepool.Dict`` while a replacement worker forked).

The repair forgets both, so the worker imports the module afresh.  It touches only locks owned by
a thread other than the one running (in a forked child, no other thread exists), and it relies on
``importlib._bootstrap._module_locks`` (a name -> weak reference to the module's lock, present
with the same meaning in CPython 3.10 to 3.14); if that is missing, it does nothing.
"""

from __future__ import annotations

import sys
import threading
from importlib import _bootstrap


def forget_interrupted_imports() -> list[str]:
    """Drop modules whose import a vanished thread was running; returns their names."""
    locks = getattr(_bootstrap, "_module_locks", None)
    if not isinstance(locks, dict):
        return []
    me = threading.get_ident()
    forgotten = []
    for name, reference in list(locks.items()):
        lock = reference() if callable(reference) else None
        owner = getattr(lock, "owner", None)
        if lock is None or owner is None or owner == me:
            continue
        locks.pop(name, None)
        module = sys.modules.get(name)
        spec = getattr(module, "__spec__", None)
        if module is not None and getattr(spec, "_initializing", False):
            del sys.modules[name]
        forgotten.append(name)
    return forgotten
