"""What a task can ask about the worker it runs on: ``current_worker()`` and ``worker_state()``.

It imports nothing of corepool but ``_record``, so that any layer may ask whether it runs in a
worker (shared memory keeps a worker's recent attachments mapped, for one) without importing the
worker side;
the worker loops (``_worker/``) call ``enter_process_worker`` / ``enter_thread_worker``.
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

from corepool._record import Record

__all__ = ["WorkerInfo", "current_worker", "worker_state"]


class WorkerInfo(Record):
    """Identity of the worker running the current task."""

    index: int  # type: ignore[assignment]  # the field shadows tuple.index, on purpose
    """Position of the worker in its pool, from 0.  A replacement takes over the index."""
    pid: int
    name: str
    """``corepool-worker-<index>``: the process or thread name."""
    backend: str
    """``"processes"``, ``"threads"`` or ``"interpreters"``."""


class _Current(threading.local):
    info: WorkerInfo | None = None
    state: SimpleNamespace | None = None


_thread_current = _Current()
_process_info: WorkerInfo | None = None
_process_state: SimpleNamespace | None = None


def current_worker() -> WorkerInfo | None:
    """The worker running the calling task, or ``None`` outside a corepool worker."""
    return _thread_current.info or _process_info


def worker_state() -> SimpleNamespace:
    """A namespace private to the current worker, kept from task to task.

    The process counterpart of ``threading.local``: an ``initializer`` stores things here (a
    database connection, a loaded model) and every task that worker runs reads them.
    """
    state = _thread_current.state or _process_state
    if state is None:
        raise RuntimeError("worker_state() is only available inside a corepool worker")
    return state


def enter_process_worker(index: int) -> None:
    global _process_info, _process_state
    _process_info = WorkerInfo(index, os.getpid(), f"corepool-worker-{index}", "processes")
    _process_state = SimpleNamespace()


def enter_interpreter_worker(index: int, name: str) -> None:
    """In a worker's own subinterpreter, whose copy of this module serves only that worker."""
    global _process_info, _process_state
    _process_info = WorkerInfo(index, os.getpid(), name, "interpreters")
    _process_state = SimpleNamespace()


def enter_thread_worker(index: int, name: str) -> None:
    _thread_current.info = WorkerInfo(index, os.getpid(), name, "threads")
    _thread_current.state = SimpleNamespace()
