"""What a new worker process is given, and the first function it runs.

The program builds a ``WorkerBoot`` for each worker and names ``run_worker`` as its process's
target; neither needs the worker's own loop (``process_main`` and what it imports, ~3-4 ms), so
the program does not load it: the zygote imports it once after it is forked, on another core
while the program goes on starting its pool (``zygote_server``), a forkserver preloads it, a
spawned worker imports it, and under ``fork`` the backend imports it before the first fork so
that no worker imports anything after it.
"""

from __future__ import annotations

import socket
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from corepool._record import Record

if TYPE_CHECKING:
    from corepool._wire.initializer import WorkerInitializer
    from corepool._worker.progress import Board


class WorkerBoot(Record):
    """What a new worker process receives (pickled by ``multiprocessing``)."""

    worker_index: int
    channel: socket.socket
    lifeline: Connection
    board: Board
    initializer: WorkerInitializer | None
    native_threads: int | None
    measure_memory: bool
    """Report resident memory after each chunk (the pool has a memory limit)."""
    inherited_fds: tuple[int, ...]
    """Parent-side descriptors a forked child inherits and must close (empty unless fork)."""


def run_worker(boot: WorkerBoot) -> None:
    """A worker process's target: the worker's loop, imported already where it was forked."""
    from corepool._worker.process_main import worker_process_main

    worker_process_main(boot)
