"""The feeder: cuts a streaming job's input into chunks, as fast as the window allows.

One thread per streaming call (``map``, ``imap``, ``Executor.map``...).  It is the only code that
iterates the user's iterable, so a slow or blocking generator delays only its own job, and the
dispatcher never runs user code.  Chunk sizes come from the job's ``ChunkSizer`` at the moment
each chunk is cut, so they follow the measurements as they arrive; so does the window's width
(``queueing.WindowWidening``), for a call whose chunks turn out to be short.

A list, tuple or range is cut as far ahead as the window and the sizer allow (the sizer holds
back chunks until it measured the first ones) and handed over as one batch: each hand-over
wakes the loop thread, and while the workers keep every core busy each wake-up takes a core
from a worker (64 tasks of 25 ms: the loop thread woke for the feeder after every second
chunk); 64 threads were handed their first naps one hand-over each, and the loop thread, busy
with them, kept the GIL from the threads that should have started (benchmarks/sleep).  A
generator's chunks go one by one: the next item may be slow to come, and the chunks already
cut must not wait for it.
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
        submit: Callable[[list[Chunk]], None],
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
        sliceable = isinstance(source, _SLICEABLE)
        take = _slicer(source) if isinstance(source, _SLICEABLE) else _taker(iter(source))
        index = 0
        while self._window.acquire():
            batch: list[Chunk] = []
            while True:
                size = job.sizer.next_size()
                with self._window.reading:
                    # Closed while the sizer waited for a measurement: read nothing more of the
                    # input (the caller closed the iterator and may go on reading it itself).
                    if self._window.closed:
                        break
                    items, error = take(index, size)
                if items:
                    batch.append(self._cut(index, items))
                    index += len(items)
                else:
                    self._window.release()
                if error is not None or not items:
                    break
                # Cut on only while that costs no waiting: for the next item, a window slot, or
                # a measurement (the sizer would hold back the chunks cut so far).
                if not (sliceable and job.sizer.cuts_at_once and self._window.try_acquire()):
                    break
            if batch:
                self._submit(batch)
            if self._window.closed:
                return
            if error is not None:
                self._post(job.sink.input_failed, index, error)
                return
            if not items:
                self._post(job.sink.input_ended, index)
                return

    def _cut(self, index: int, items: Sequence[Any]) -> Chunk:
        ledger = self._job.sink.ledger
        assert ledger is not None
        ledger.open_block(index, len(items))
        if self._widening is not None:
            self._widening.after_cut(len(items))
        return Chunk(self._job, index, items)


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
