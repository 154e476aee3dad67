"""Deciding what happens to a chunk whose worker was lost (died, or was stopped for a timeout).

The worker's row on the progress board says how far it got, so exactly one item is to blame:

    row[CHUNK] is another chunk  the worker never started this one: run it all again
    row[ITEM] == UNPACKING       it died reading the call: nothing ran, so run the items again
                                 one per chunk (each item's own bytes then find the bad one)
    row[ITEM] == k               item k was running: it fails (or is retried); items before k
                                 ran but their results died with the worker, so they run again;
                                 items after k never started and are simply requeued
    row[ITEM] >= PACKING_BASE    every item ran, and the worker died pickling the results:
                                 item (row[ITEM] - PACKING_BASE) is to blame, the rest run again
"""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass, field

from corepool._engine.tasks import Chunk
from corepool._worker import progress


@dataclass
class Recovery:
    """What to do with a lost chunk's items."""

    requeue: list[Chunk] = field(default_factory=list)
    """Parts to run again (they did not cause the loss)."""
    culprit: Chunk | None = None
    """The single item that was running, if one was; it fails or is retried."""
    culprit_stage: str = "running"
    """What the worker was doing with the culprit: running it, or unpickling/pickling it."""


def plan_recovery(chunk: Chunk, row: MutableSequence[int]) -> Recovery:
    if row[progress.CHUNK] != chunk.id:
        return Recovery(requeue=[chunk])
    position = row[progress.ITEM]
    size = len(chunk)
    if position == progress.UNPACKING:
        if size > 1:
            return Recovery(requeue=[chunk.part(index, index + 1) for index in range(size)])
        return _blame(chunk, 0, "unpickling its call")
    if position >= progress.PACKING_BASE:
        return _blame(chunk, min(position - progress.PACKING_BASE, size - 1), "pickling its result")
    return _blame(chunk, min(max(position, 0), size - 1), "running")


def _blame(chunk: Chunk, index: int, stage: str) -> Recovery:
    culprit = chunk if len(chunk) == 1 else chunk.part(index, index + 1)
    culprit.attempts = chunk.attempts if len(chunk) == 1 else 0
    requeue = [part for part in (chunk.part(0, index), chunk.part(index + 1, len(chunk))) if part]
    return Recovery(requeue=requeue, culprit=culprit, culprit_stage=stage)
