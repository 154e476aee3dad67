"""Deciding what happens to a chunk whose worker was lost (it died, timed out, or was cancelled).

The worker's row on the progress board says how far it got, so exactly one item is to blame:

    row[CHUNK] is another chunk  the worker never started this one: run it all again
    row[ITEM] == UNPACKING       it was reading the call: nothing ran, so run the items again
                                 one per chunk (each item's own bytes then find the bad one)
    row[ITEM] == k               item k was running: it fails (or is retried); items before k
                                 ran but their results died with the worker, so they run again;
                                 items after k never started and are simply requeued
    row[ITEM] >= PACKING_BASE    every item ran, and the worker died pickling the results:
                                 item (row[ITEM] - PACKING_BASE) is to blame, the rest run again

Pure functions of the chunk, the row and what happened, so they are tested without processes.
"""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass, field
from typing import Literal

from corepool._engine.tasks import Chunk
from corepool._worker import progress
from corepool.errors import TaskCancelledError, TaskTimeoutError, WorkerLostError

LossKind = Literal["died", "timeout", "cancel"]


@dataclass(frozen=True)
class Loss:
    """How a worker was lost."""

    kind: LossKind
    pid: int | None = None
    exitcode: int | None = None
    detail: str = ""
    """Extra words for the error, e.g. that the kernel's out-of-memory killer ended it."""
    may_retry: bool = True
    """False once the pool is terminating: nothing is run again."""


@dataclass
class Recovery:
    requeue: list[Chunk] = field(default_factory=list)
    """Parts to run (again): they did not cause the loss, or are retried."""
    failed: list[tuple[Chunk, BaseException]] = field(default_factory=list)
    """Parts that end with an error."""


def plan_recovery(chunk: Chunk, row: MutableSequence[int], loss: Loss) -> Recovery:
    if loss.kind == "cancel":
        return Recovery(
            failed=[(chunk, TaskCancelledError("the task was cancelled while running"))]
        )
    if row[progress.CHUNK] != chunk.id:
        return Recovery(requeue=[chunk])
    position = row[progress.ITEM]
    size = len(chunk)
    if position == progress.UNPACKING:
        if size > 1:
            return Recovery(requeue=[chunk.part(index, index + 1) for index in range(size)])
        return _blame(chunk, 0, "unpickling the call", loss)
    if position >= progress.PACKING_BASE:
        index = min(position - progress.PACKING_BASE, size - 1)
        return _blame(chunk, index, "pickling the result", loss)
    return _blame(chunk, min(max(position, 0), size - 1), "running", loss)


def _blame(chunk: Chunk, index: int, stage: str, loss: Loss) -> Recovery:
    single = len(chunk) == 1
    culprit = chunk if single else chunk.part(index, index + 1)
    culprit.attempts = (chunk.attempts if single else 0) + 1
    others = [part for part in (chunk.part(0, index), chunk.part(index + 1, len(chunk))) if part]
    recovery = Recovery(requeue=others)
    task = culprit.job.describe_item(culprit.start)
    if loss.kind == "timeout":
        timeout = culprit.job.options.timeout
        assert timeout is not None
        recovery.failed.append((culprit, TaskTimeoutError(task, timeout)))
    elif loss.may_retry and culprit.attempts <= culprit.job.options.retries:
        recovery.requeue.append(culprit)
    else:
        recovery.failed.append((culprit, _lost_error(task, stage, culprit.attempts, loss)))
    return recovery


def _lost_error(task: str, stage: str, attempts: int, loss: Loss) -> WorkerLostError:
    words = [loss.detail] if loss.detail else []
    if attempts > 1:
        words.append(f"tried {attempts} times")
    return WorkerLostError(task, loss.pid, loss.exitcode, "; ".join(words), stage)
