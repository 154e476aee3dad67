"""A sink that reports a call's progress (``insights.progress``) and passes everything on.

    results thread ─ deliver(start, values, errors) ─▶ ProgressSink ─▶ the call's own sink
                                                          └─ progress.advance(len, failed)

Wrapping the call's sink, rather than teaching every sink to count, keeps progress out of the
result paths of the calls that do not ask for it.
"""

from __future__ import annotations

from typing import Any

from corepool._engine.sinks import Sink
from corepool.insights.progress import Progress


class ProgressSink(Sink):
    def __init__(self, inner: Sink, progress: Progress, total: int | None) -> None:
        self._inner = inner
        self._progress = progress
        self._total = total
        self._done = 0
        self._closed = False

    def deliver(self, start: int, values: list[Any], errors: dict[int, BaseException]) -> None:
        # The bar first: delivering the last outcomes may return the call to its caller, who
        # must find the bar finished (under load it was sometimes drawn after map() returned).
        if not self._closed and values:
            self._done += len(values)
            self._progress.advance(len(values), len(errors))
            if self._total is not None and self._done >= self._total:
                self._close()
        self._inner.deliver(start, values, errors)

    def input_ended(self, total: int) -> None:
        self._inner.input_ended(total)
        self._set_total(total)

    def input_failed(self, index: int, error: BaseException) -> None:
        self._inner.input_failed(index, error)
        self._set_total(index)

    def claim(self) -> bool:
        return self._inner.claim()

    def cancel(self, error: BaseException) -> None:
        self._inner.cancel(error)
        self._close()

    def abandon(self) -> None:
        self._inner.abandon()
        self._close()

    def _set_total(self, total: int) -> None:
        self._total = total
        if not self._closed:
            self._progress.set_total(total)
            if self._done >= total:
                self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._progress.close()
