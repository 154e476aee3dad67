"""Where a call's function and items are prepared for the workers (pickled, for processes).

All preparation goes through one ``Preparer`` and never runs on the loop thread, which only moves
prepared bytes and bookkeeping (a large argument pickling there would hold up every worker):

    submit / submit_task ── user thread ────▶ job(), chunk()  ─▶ dispatcher
    map, imap ...        ── feeder thread ──▶ chunk()          ─▶ dispatcher
    dispatcher (a part to run again, a chunk or function a worker could not read)
                         ── later() ─▶ "corepool-preparer" thread ─▶ back to the dispatcher

The preparer thread starts only the first time the dispatcher needs it (a lost worker, an
unreadable call), so a pool that never meets one never pays for it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from corepool import _log
from corepool._backends.base import Backend
from corepool._engine.tasks import Chunk, Job


class Preparer:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- in the calling thread

    def job(self, job: Job, *, by_value: bool = False) -> None:
        """Prepare a job's function (raises if it cannot travel)."""
        self._backend.prepare_job(job, by_value=by_value)

    def chunk(self, chunk: Chunk) -> None:
        """Prepare a chunk's items; items that cannot travel go to ``chunk.parent_errors``."""
        self._backend.prepare_chunk(chunk)

    def function_by_value(self, chunk: Chunk) -> None:
        """Prepare a chunk's function again, by value (raises if it cannot go by value)."""
        self._backend.prepare_job(chunk.job, by_value=True)

    def isolated(self, chunk: Chunk) -> None:
        """Prepare a chunk's items one by one (a worker could not read them as a whole)."""
        self._backend.repack_isolated(chunk)

    # -- from the loop thread

    def later(self, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)`` on the preparer thread (it reports back to the dispatcher)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="corepool-preparer", daemon=True
                )
                self._thread.start()
        self._queue.put((work, args))

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)

    def join(self) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            work = self._queue.get()
            if work is None:
                return
            fn, args = work
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - logged, and the thread carries on
                _log.logger().exception("corepool: preparing work for a worker failed")
            del work, fn, args  # hold no chunk while idle
