"""Chunks that must be prepared again before they run again, away on the preparer thread.

    dispatcher ── send(chunks, how) ──▶ preparer thread: how(chunk) for each
    dispatcher ◀── back(outcomes) ────┘ (on the loop thread; a chunk failed by terminate()
                                         meanwhile is not handed back)

Three things send a chunk here: a part cut from a chunk whose worker was lost (a part has no
prepared payload of its own), a chunk a worker could not read as a whole (prepared again item by
item), and a chunk whose function a worker could not resolve (the function goes by value).
"""

from __future__ import annotations

from collections.abc import Callable

from corepool._engine.loop_thread import LoopThread
from corepool._engine.preparation import Preparer
from corepool._engine.tasks import Chunk
from corepool._wire.rebuild import local_error
from corepool._wire.remote_error import Stage

Outcomes = list[tuple[Chunk, BaseException | None]]
"""Each chunk back from the preparer with ``None``, or the error it must fail with."""


class Rework:
    def __init__(
        self, preparer: Preparer, loop_thread: LoopThread, back: Callable[[Outcomes], None]
    ) -> None:
        self._preparer = preparer
        self._loop_thread = loop_thread
        self._back = back
        self._away: dict[int, Chunk] = {}

    def __bool__(self) -> bool:
        return bool(self._away)

    def send(
        self,
        chunks: list[Chunk],
        how: Callable[[Chunk], None],
        error_if_impossible: BaseException | None = None,
    ) -> None:
        """Prepare ``chunks`` again with ``how``; a chunk for which it raises fails with
        ``error_if_impossible`` (or what it raised)."""
        for chunk in chunks:
            self._away[chunk.id] = chunk
        self._preparer.later(self._prepare, chunks, how, error_if_impossible)

    def take_all(self) -> list[Chunk]:
        """Forget every chunk away (the pool is terminating: they fail instead)."""
        chunks = list(self._away.values())
        self._away.clear()
        return chunks

    def _prepare(
        self,
        chunks: list[Chunk],
        how: Callable[[Chunk], None],
        error_if_impossible: BaseException | None,
    ) -> None:
        """On the preparer thread."""
        outcomes: Outcomes = []
        for chunk in chunks:
            try:
                how(chunk)
            except Exception as error:  # noqa: BLE001 - the chunk fails, not the pool
                outcomes.append(
                    (chunk, error_if_impossible or local_error(error, Stage.PICKLE_CALL))
                )
            else:
                outcomes.append((chunk, None))
        try:
            self._loop_thread.call(self._returned, outcomes)
        except RuntimeError:  # the loop closed: terminate() failed these chunks already
            pass

    def _returned(self, outcomes: Outcomes) -> None:
        """On the loop thread."""
        kept = [outcome for outcome in outcomes if self._away.pop(outcome[0].id, None) is not None]
        self._back(kept)
