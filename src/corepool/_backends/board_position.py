"""Reading a worker's row of the progress board (``_worker/progress.py``) as a ``WorkerPosition``.

The worker side writes raw integers, one store per item, for speed; this is the one place on the
parent side that knows how those integers encode a position.
"""

from __future__ import annotations

from collections.abc import Sequence

from corepool._backends.base import Phase, WorkerPosition
from corepool._worker import progress


def position_from_row(row: Sequence[int]) -> WorkerPosition:
    # Read each field once: the worker may move on while we read.
    chunk_id, item, started = row[progress.CHUNK], row[progress.ITEM], row[progress.STARTED]
    if item == progress.UNPACKING:
        return WorkerPosition(chunk_id, Phase.READING, 0, started)
    if item >= progress.PACKING_BASE:
        return WorkerPosition(chunk_id, Phase.PACKING, item - progress.PACKING_BASE, started)
    return WorkerPosition(chunk_id, Phase.RUNNING, max(item, 0), started)
