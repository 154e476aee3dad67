"""The feeder: cuts a streaming job's input into chunks, as fast as the window allows.

One thread per streaming call (``map``, ``imap``, ``Executor.map``...).  It is the only code that
iterates the user's iterable, so a slow or blocking generator delays only its own job, and the
dispatcher never runs user code.  Chunk sizes come from the job's ``ChunkSizer`` at the moment
each chunk is cut, so they follow the measurements as they arrive; so does the window's width
(``queueing.WindowWidening``), for a call whose chunks turn out to be short.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from corepool._engine.queueing import WindowWidening
from corepool._engine.tasks import Chunk, Job
from corepool._engine.window import Window

# Inputs sliced instead of iterated: their length is known and slicing them is cheap and pure.
_SLICEABLE = (list, tuple, range)


class Feeder:
    def __init__(
        self,
        job: Job,
        source: Iterable[Any],
        window: Window,
        submit: Callable[[Chunk], None],
        post_to_results: Callable[..., None],
        finished: Callable[[Job], None],
        widening: WindowWidening | None = None,
    ) -> None:
        self._job = job
        self._widening = widening
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
        source = self._source
        take = _slicer(source) if isinstance(source, _SLICEABLE) else _taker(iter(source))
        index = 0
        while self._window.acquire():
            items, error = take(index, job.sizer.next_size())
            if items:
                assert job.sink.ledger is not None
                job.sink.ledger.open_block(index, len(items))
                self._submit(Chunk(job, index, items))
                index += len(items)
                if self._widening is not None:
                    self._widening.after_cut(len(items))
            else:
                self._window.release()
            if error is not None:
                self._post(job.sink.input_failed, index, error)
                return
            if not items:
                self._post(job.sink.input_ended, index)
                return


Take = Callable[[int, int], tuple[Sequence[Any], BaseException | None]]


def _slicer(source: Sequence[Any]) -> Take:
    return lambda start, size: (source[start : start + size], None)


def _taker(iterator: Iterator[Any]) -> Take:
    def take(start: int, size: int) -> tuple[Sequence[Any], BaseException | None]:
        # list.extend keeps the items read before the iterator raised, so none is lost.
        items: list[Any] = []
        try:
            items.extend(islice(iterator, size))
        except BaseException as error:  # noqa: BLE001 - the input's error is the job's
            return items, error
        return items, None

    return take
