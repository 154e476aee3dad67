"""A pool's ``initializer(*initargs)`` on its way to a worker process, and its run there.

    parent: WorkerInitializer ──(inside WorkerBoot, pickled by multiprocessing at process.start)──▶
    worker: WorkerInitializer.run() ─ unpickles the call now ─▶ initializer(*initargs)

``Pool(initializer=init, initargs=(lock,))`` is how programs hand their workers a
``multiprocessing.Lock`` or ``Queue``, and those refuse to be pickled except while
``multiprocessing`` pickles a new process's arguments ("should only be shared between processes
through inheritance"). So the call is pickled in exactly that moment: ``__reduce__`` runs when the
spawn or forkserver start pickles the ``WorkerBoot``, with ``multiprocessing``'s reducers, so the
lock's semaphore and the queue's pipes reach the child as the standard library sends them. Under
fork nothing is pickled: the child holds the objects themselves.  Where the call pickles without
that (the common case), it is pickled once, up front, and every worker start reuses the bytes.

The worker unpickles the call only when it runs it, inside the same ``try`` as the call, so a
failure to unpickle is reported as the initializer's failure (``InitFailed``), not as a worker
that could not start.  Under ``concurrent.futures`` a failure is also logged as the standard
executors log it: CRITICAL "Exception in initializer:" with the traceback, on the
``concurrent.futures`` logger of the worker.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from corepool import _log
from corepool._wire import serialization

Call = tuple[Callable[..., object], tuple[Any, ...]]


class WorkerInitializer:
    def __init__(
        self,
        initializer: Callable[..., object],
        initargs: tuple[Any, ...],
        *,
        by_value: bool,
        pickled_up_front: bool,
        log_failures_to: str | None = None,
    ) -> None:
        """``pickled_up_front``: pickle now, once (workers not forked); a call that pickles only
        in a new process's arguments is then pickled at each start instead."""
        self._call: Call | None = (initializer, initargs)
        self._blob: bytes | None = None
        self._by_value = by_value
        self.log_failures_to = log_failures_to
        if pickled_up_front:
            try:
                self._blob = serialization.dumps(self._call, by_value=by_value)
            except Exception:  # noqa: BLE001 - e.g. a multiprocessing.Lock: see __reduce__
                self._blob = None

    def __reduce__(
        self,
    ) -> tuple[Callable[[bytes, str | None], WorkerInitializer], tuple[Any, ...]]:
        blob = self._blob
        if blob is None:
            assert self._call is not None
            blob = serialization.dumps_for_new_process(self._call, by_value=self._by_value)
        return _unpickled_later, (blob, self.log_failures_to)

    def run(self) -> None:
        """In the worker: ``initializer(*initargs)``; raises what it (or unpickling it) raised."""
        try:
            if self._call is None:
                assert self._blob is not None
                self._call = pickle.loads(self._blob)
            initializer, initargs = self._call
            initializer(*initargs)
        except BaseException:
            if self.log_failures_to is not None:
                _log.logger(self.log_failures_to).critical(
                    "Exception in initializer:", exc_info=True
                )
            raise


def _unpickled_later(blob: bytes, log_failures_to: str | None) -> WorkerInitializer:
    initializer = WorkerInitializer.__new__(WorkerInitializer)
    initializer._call = None
    initializer._blob = blob
    initializer._by_value = False
    initializer.log_failures_to = log_failures_to
    return initializer


def logging_failures(initializer: Callable[..., object], logger_name: str) -> Callable[..., object]:
    """``initializer``, logging a failure as ``WorkerInitializer.run`` does (thread workers)."""

    def run(*initargs: Any) -> object:
        try:
            return initializer(*initargs)
        except BaseException:
            _log.logger(logger_name).critical("Exception in initializer:", exc_info=True)
            raise

    return run
