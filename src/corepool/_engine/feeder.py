"""The feeder: cuts a streaming job's input into chunks, as fast as the window allows.

One thread per streaming call (``map``, ``imap``, ``Executor.map``...).  It is the only code that
iterates the user's iterable, so a slow or blocking generator delays only its own job, and the
dispatcher never runs user code.  Chunk sizes come from the job's ``ChunkSizer`` at the moment
each chunk is cut, so they follow the measurements as they arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from corepool._engine.tasks import Chunk, Job
from corepool._engine.window import Window

_SLICEABLE = (list, tuple, range)


def is_sized_sequence(source: object) -> bool:
    """Inputs we may slice instead of iterate: their length is known and slicing is cheap."""
    return isinstance(source, _SLICEABLE)


class Feeder:
    def __init__(
        self,
        job: Job,
        source: Iterable[Any],
        window: Window,
        submit: Callable[[Chunk], None],
        post_to_results: Callable[..., None],
        finished: Callable[[Job], None],
    ) -> None:
        self._job = job
        self._source = source
        self._window = window
        self._submit = submit
        self._post = post_to_results
        self._finished = finished
        self._thread = threading.Thread(target=self._run, name="corepool-feeder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self._feed()
        finally:
            self._finished(self._job)

    def _feed(self) -> None:
        job = self._job
        take = (
            _slicer(self._source)
            if is_sized_sequence(self._source)
            else _iterator_taker(iter(self._source))
        )
        index = 0
        while self._window.acquire():
            size = job.sizer.next_size()
            try:
                items = take(index, size)
            except BaseException as error:  # noqa: BLE001 - the input's error is the job's
                self._window.release()
                self._post(job.sink.input_failed, index, error)
                return
            if not items:
                self._window.release()
                self._post(job.sink.input_ended, index)
                return
            assert job.sink.ledger is not None
            job.sink.ledger.open_block(index, len(items))
            self._submit(Chunk(job, index, items))
            index += len(items)


def _slicer(source: Sequence[Any]) -> Callable[[int, int], Sequence[Any]]:
    return lambda start, size: source[start : start + size]


def _iterator_taker(iterator: Any) -> Callable[[int, int], Sequence[Any]]:
    return lambda start, size: list(islice(iterator, size))
