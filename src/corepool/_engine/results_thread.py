"""The results thread: unpickles outcomes and resolves results, running user callbacks.

The dispatcher only moves bytes and bookkeeping; the slow or user-controlled part of finishing a
task (unpickling a large result, a callback that takes its time) happens here, so it never keeps
a worker waiting for its next chunk.  One thread, one queue: callbacks run in completion order.

Except for what costs less than the hand-over (``deliver``): an outcome that unpickles without
running code, in microseconds, for a sink that runs no user code, is delivered by the dispatcher
itself; waking this thread for it cost a thread switch per chunk (``sinks.py``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corepool import _log

if TYPE_CHECKING:
    from corepool._backends.base import Outcome
    from corepool._engine.tasks import Chunk


class _Stop:
    pass


class ResultsThread:
    def __init__(self, name: str = "corepool-results") -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | _Stop] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        self._queue.put((fn, args))

    def deliver(self, chunk: Chunk, outcome: Outcome) -> None:
        """Hand a chunk's outcome to its sink: at once, on the calling thread, when that runs no
        user code and takes microseconds; otherwise through this thread, in completion order.

        At once, the caller must let go of the chunk right after: the outcome may wake a caller
        who expects the call's arguments and results freed (CPython's test_release_task_refs)."""
        if outcome.quick and not chunk.job.sink.runs_user_code:
            chunk.deliver(outcome)
        else:
            self.post(chunk.deliver, outcome)

    def stop(self, *, join: bool = True) -> None:
        """Finish what was posted, then end the thread (and wait for that, if ``join``)."""
        self._queue.put(_Stop())
        if join:
            self.join()

    def join(self) -> None:
        if threading.current_thread() is not self._thread and self._thread.ident is not None:
            self._thread.join()

    @property
    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if isinstance(work, _Stop):
                return
            fn, args = work
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - logged, and the thread carries on
                _log.logger().exception("corepool: delivering a result failed")
            # Let go now, not when the next outcome arrives: the user may be waiting for the
            # results (or arguments) of a finished call to be freed.
            del work, fn, args
