"""What the engine needs from a kind of worker.

The dispatcher (on the loop thread) starts workers, hands each one chunk at a time, and hears back
through a ``WorkerListener``: ready, chunk finished, worker exited.  A backend also prepares work
in the submitting thread (pickling, for processes), so the dispatcher only moves bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any, Protocol

from corepool._engine.event_loop import EventLoop
from corepool._engine.tasks import Chunk, Job


@dataclass(frozen=True)
class Capabilities:
    name: str
    kills_workers: bool
    """A running task can be stopped by ending its worker (timeouts, cancel)."""
    isolates_workers: bool
    """Workers are separate processes: a crash stays in its worker; values are pickled."""


class Outcome(ABC):
    """What came back for a chunk, unpacked on the results thread."""

    @abstractmethod
    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        """The chunk's results (``None`` where failed) and its errors by offset."""


@dataclass(frozen=True)
class ChunkFinished:
    chunk_id: int
    outcome: Outcome
    seconds: float
    rss: int = 0
    """The worker's resident memory after the chunk, when it measures it (memory limit)."""


class WorkerHandle(ABC):
    """The parent's handle on one worker."""

    index: int
    name: str
    row: MutableSequence[int]
    """The worker's row on the progress board (see ``_worker.progress``)."""

    @property
    @abstractmethod
    def pid(self) -> int | None: ...

    @abstractmethod
    def run(self, chunk: Chunk) -> None:
        """Send a chunk; the worker must be idle."""

    @abstractmethod
    def stop(self) -> None:
        """Ask the worker to exit after its current chunk."""

    @abstractmethod
    def kill(self) -> None:
        """End the worker now (a thread cannot be ended: it is abandoned instead)."""

    @abstractmethod
    def terminate(self) -> None:
        """End the worker politely but promptly (SIGTERM for a process)."""

    @abstractmethod
    def release(self) -> None:
        """Free the OS resources of an exited worker."""


class WorkerListener(Protocol):
    """Implemented by the dispatcher; every call arrives on the loop thread."""

    def worker_ready(self, worker: WorkerHandle) -> None: ...
    def worker_init_failed(self, worker: WorkerHandle, error: BaseException) -> None: ...
    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None: ...
    def chunk_unreadable(
        self, worker: WorkerHandle, chunk_id: int, error: BaseException
    ) -> None: ...
    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None: ...


class Backend(ABC):
    capabilities: Capabilities

    def prepare_job(self, job: Job) -> None:  # noqa: B027 - optional hook
        """Called once per job in the submitting thread (may raise: the job then fails)."""

    def prepare_chunk(self, chunk: Chunk) -> None:  # noqa: B027 - optional hook
        """Called once per chunk in the submitting thread; records failures in the chunk."""

    def repack_isolated(self, chunk: Chunk) -> None:  # noqa: B027 - optional hook
        """Re-prepare a chunk item by item (after the worker could not read it whole)."""

    @abstractmethod
    def start_worker(self, index: int, loop: EventLoop, listener: WorkerListener) -> WorkerHandle:
        """Start worker ``index`` (on the loop thread)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend holds once every worker has exited."""
