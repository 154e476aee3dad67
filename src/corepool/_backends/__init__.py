"""Workers behind one small interface: one module per kind of worker.

``base.py`` defines what the engine asks of a backend; ``processes.py`` and ``threads.py``
implement it.  The engine asks ``backend.capabilities`` what a backend can do, never its type.
"""

from __future__ import annotations

from corepool._backends.base import Backend, Capabilities, WorkerHandle, WorkerListener

__all__ = ["Backend", "Capabilities", "WorkerHandle", "WorkerListener", "backend_names"]


def backend_names() -> tuple[str, ...]:
    return ("processes", "threads")
