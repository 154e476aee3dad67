"""Deciding what happens to a chunk whose worker was lost (it died, timed out, or was cancelled).

The worker's position (``WorkerHandle.position()``) says how far it got, so exactly one item is to
blame, and only an item that was running (or whose result was being written) is ever blamed:

    another chunk, or READING    nothing of this chunk ran: run it again, without using any
                                 retries, at most ``max_unstarted_losses`` times (then it fails
                                 with WorkerLostError).  A chunk of several items lost while
                                 READING is run again one item per chunk, so that an item whose
                                 bytes crash the worker fails alone.  (A single item that timed
                                 out while READING hung on its own bytes: it fails at once.)
    RUNNING item k               item k fails (or is retried, up to ``retries``); items before k
                                 ran but their results died with the worker, so they run again;
                                 items after k never started and are simply run again
    PACKING item k               every item ran, and the worker died writing result k: item k
                                 is to blame, the rest run again

Pure functions of the chunk, the position and what happened, so they are tested without workers.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from corepool import errors
from corepool._backends.base import Phase, WorkerPosition
from corepool._choice import Choice
from corepool._engine.tasks import Chunk
from corepool._record import Record
from corepool.errors import TaskTimeoutError

if TYPE_CHECKING:
    from corepool._backends.base import Capabilities
    from corepool._lifecycle.oom import OomWatch


class LossKind(Choice):
    DIED = "died"
    TIMEOUT = "timeout"
    CANCEL = "cancel"


class Loss(Record):
    """How a worker was lost."""

    kind: LossKind
    pid: int | None = None
    exitcode: int | None = None
    detail: str = ""
    """Extra words for the error, e.g. that the kernel's out-of-memory killer ended it."""
    may_retry: bool = True
    """False once the pool is terminating: nothing is run again."""
    max_unstarted_losses: int = 5
    """How often a chunk may be lost before any of its items started (``Settings``)."""


class LossWitness:
    """Tells how a worker was lost, with what the error should add: that the backend cannot
    stop a running task, or that the kernel's out-of-memory killer was at work."""

    def __init__(
        self, capabilities: Capabilities, oom_watch: OomWatch | None, max_unstarted_losses: int
    ) -> None:
        self._capabilities = capabilities
        self._oom_watch = oom_watch
        self._max_unstarted_losses = max_unstarted_losses

    def loss(
        self, kind: LossKind, pid: int | None, exitcode: int | None, detail: str, may_retry: bool
    ) -> Loss:
        words = [detail] if detail else []
        backend = self._capabilities
        if kind is not LossKind.DIED and not backend.kills_workers:
            words.append(f"{backend.name} workers cannot be stopped: the task may run on")
        oom = self._oom_watch
        if exitcode == -signal.SIGKILL and oom is not None and oom.killed_since_last():
            words.append("the kernel's out-of-memory killer ended processes in this cgroup")
        return Loss(kind, pid, exitcode, "; ".join(words), may_retry, self._max_unstarted_losses)


class Recovery:
    # A plain class, as ``Loss`` is a ``Record``: no dataclass to define at the first pool.
    __slots__ = ("failed", "requeue")

    def __init__(
        self,
        requeue: list[Chunk] | None = None,
        failed: list[tuple[Chunk, BaseException]] | None = None,
    ) -> None:
        self.requeue: list[Chunk] = [] if requeue is None else requeue
        """Parts to run (again): they did not cause the loss, or are retried."""
        self.failed: list[tuple[Chunk, BaseException]] = [] if failed is None else failed
        """Parts that end with an error."""


def plan_recovery(chunk: Chunk, position: WorkerPosition, loss: Loss) -> Recovery:
    if loss.kind is LossKind.CANCEL:
        return Recovery(
            failed=[(chunk, errors.TaskCancelledError("the task was cancelled while running"))]
        )
    if position.chunk_id != chunk.id:
        return _not_started(chunk, "before it started the task", loss)
    size = len(chunk)
    if position.phase is Phase.READING:
        if loss.kind is LossKind.TIMEOUT and size == 1:
            return _blame(chunk, 0, "unpickling the call", loss)  # it hung reading its own bytes
        if size > 1:
            parts = [chunk.part(index, index + 1) for index in range(size)]
            for part in parts:
                part.unstarted_losses = chunk.unstarted_losses + 1
            return Recovery(requeue=parts)
        return _not_started(chunk, "unpickling the call", loss)
    index = min(position.item, size - 1)
    if position.phase is Phase.PACKING:
        return _blame(chunk, index, "pickling the result", loss)
    return _blame(chunk, index, "running", loss)


def _not_started(chunk: Chunk, stage: str, loss: Loss) -> Recovery:
    """No item of ``chunk`` ran: it is innocent, unless this keeps happening."""
    chunk.unstarted_losses += 1
    if loss.may_retry and chunk.unstarted_losses <= loss.max_unstarted_losses:
        return Recovery(requeue=[chunk])
    task = chunk.job.describe_item(chunk.start)
    if loss.kind is LossKind.TIMEOUT:
        return Recovery(failed=[(chunk, _timeout_error(chunk, task, loss))])
    return Recovery(failed=[(chunk, _lost_error(task, stage, chunk.unstarted_losses, loss))])


def _blame(chunk: Chunk, index: int, stage: str, loss: Loss) -> Recovery:
    single = len(chunk) == 1
    culprit = chunk if single else chunk.part(index, index + 1)
    culprit.attempts = (chunk.attempts if single else 0) + 1
    others = [part for part in (chunk.part(0, index), chunk.part(index + 1, len(chunk))) if part]
    recovery = Recovery(requeue=others)
    task = culprit.job.describe_item(culprit.start)
    if loss.kind is LossKind.TIMEOUT:
        recovery.failed.append((culprit, _timeout_error(culprit, task, loss)))
    elif loss.may_retry and culprit.attempts <= culprit.job.options.retries:
        recovery.requeue.append(culprit)
    else:
        recovery.failed.append((culprit, _lost_error(task, stage, culprit.attempts, loss)))
    return recovery


def _timeout_error(chunk: Chunk, task: str, loss: Loss) -> TaskTimeoutError:
    timeout = chunk.job.options.timeout
    assert timeout is not None
    error = TaskTimeoutError(task, timeout)
    if loss.detail and hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(loss.detail)
    return error


def _lost_error(task: str, stage: str, attempts: int, loss: Loss) -> errors.WorkerLostError:
    words = [loss.detail] if loss.detail else []
    if attempts > 1:
        words.append(f"tried {attempts} times")
    return errors.WorkerLostError(task, loss.pid, loss.exitcode, "; ".join(words), stage)
