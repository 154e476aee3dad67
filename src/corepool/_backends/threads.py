"""Worker threads in the parent process.

    dispatcher ── LocalCall ──▶ worker's SimpleQueue ──▶ _worker.thread_main
    dispatcher ◀── call_soon_threadsafe(LocalDone) ◀────┘

Nothing is pickled.  A thread cannot be killed: a timed-out or cancelled task's thread is
abandoned (its eventual result is dropped) and a fresh thread takes its place.

A worker thread takes its next chunk of a map from its queue the moment it is done, instead of
waiting for the dispatcher to hear of it: with 64 threads finishing 50 ms naps together, the
dispatcher handled their reports one by one (~45 µs each) and the last thread of each wave
waited ~3 ms for its next nap (benchmarks/sleep).  A chunk still waiting in a thread's queue can
be taken back (``withdraw``) for a thread that frees up, so nothing waits behind a long task.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from corepool._backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    ChunkFinished,
    ChunkView,
    Flavour,
    Loop,
    Outcome,
    WorkerHandle,
    WorkerListener,
    WorkerPosition,
)
from corepool._wire.initializer import logging_failures
from corepool._worker import progress
from corepool._worker.thread_main import (
    LocalCall,
    LocalDone,
    LocalEvent,
    LocalInitFailed,
    LocalReady,
    LocalStop,
    thread_worker_main,
)


def create(options: BackendOptions) -> ThreadBackend:
    initializer = options.initializer
    if initializer is not None and options.flavour is Flavour.CONCURRENT_FUTURES:
        initializer = logging_failures(initializer, "concurrent.futures")  # as the standard does
    return ThreadBackend(initializer, options.initargs, options.thread_name_prefix)


class LocalOutcome(Outcome):
    quick = True  # the results and errors themselves, nothing to unpickle

    def __init__(self, done: LocalDone) -> None:
        self._done = done

    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        return self._done.results, dict(self._done.errors)


class ThreadBackend(Backend):
    def __init__(
        self,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
        name_prefix: str = "",
    ) -> None:
        self.capabilities = Capabilities("threads", kills_workers=False, isolates_workers=False)
        self._initializer = initializer
        self._initargs = initargs
        self._name_prefix = name_prefix

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        name = f"{self._name_prefix}_{index}" if self._name_prefix else f"corepool-worker-{index}"
        return ThreadWorker(index, name, loop, listener, self._initializer, self._initargs)


class ThreadWorker(WorkerHandle):
    queues_chunks = True
    withdraws_queued = True

    def __init__(
        self,
        index: int,
        name: str,
        loop: Loop,
        listener: WorkerListener,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
    ) -> None:
        self.index = index
        self.name = name
        self._row = progress.new_local_row()
        self._loop = loop
        self._listener = listener
        self._inbox: queue.SimpleQueue[LocalCall | LocalStop] = queue.SimpleQueue()
        # Chunk ids sent and not yet started: the worker thread and ``withdraw`` each pop the
        # id, and only the one that finds it there has the chunk (dict.pop is atomic).
        self._unclaimed: dict[int, bool] = {}
        self._abandoned = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(initializer, initargs), name=name, daemon=True
        )
        self._thread.start()

    @property
    def pid(self) -> int | None:
        return None

    def position(self) -> WorkerPosition:
        # Asked when a worker is lost, a timeout may have expired, or for statistics().
        from corepool._backends.board_position import position_from_row

        return position_from_row(self._row)

    def run(self, chunk: ChunkView) -> None:
        job = chunk.job
        self._unclaimed[chunk.id] = True
        self._inbox.put(LocalCall(chunk.id, job.fn, job.style, chunk.items, job.tracks_start_times))

    def withdraw(self, chunk: ChunkView) -> bool:
        return self._take(chunk.id)

    def _take(self, chunk_id: int) -> bool:
        """Take a chunk sent and not started, for the worker thread (to run it) or ``withdraw``
        (to give it to another worker): only the first to ask gets it."""
        return self._unclaimed.pop(chunk_id, False)

    def stop(self) -> None:
        self._inbox.put(LocalStop())

    def kill(self) -> None:
        # A thread cannot be stopped from outside: stop listening to it; it stops by itself after
        # the item it is running (see run_items' ``stop``), and a new thread takes its place.
        if not self._abandoned.is_set():
            self._abandoned.set()
            self._inbox.put(LocalStop())
            self._loop.call_soon(self._listener.worker_exited, self, None)

    terminate = kill

    def release(self) -> None:
        pass

    def _main(self, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
        try:
            thread_worker_main(
                self.index,
                self.name,
                self._inbox,
                self._row,
                initializer,
                initargs,
                self._post,
                self._abandoned,
                self._take,
            )
        finally:
            self._post_exit()

    def _post(self, event: LocalEvent) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:  # the pool is gone; nobody is listening
            pass

    def _post_exit(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver_exit)
        except RuntimeError:
            pass

    def _deliver(self, event: LocalEvent) -> None:
        if self._abandoned.is_set():
            return
        if isinstance(event, LocalDone):
            self._listener.chunk_finished(
                self,
                ChunkFinished(
                    event.chunk_id,
                    LocalOutcome(event),
                    event.seconds,
                    cpu_seconds=event.cpu,
                    queued_seconds=event.queued,
                ),
            )
        elif isinstance(event, LocalReady):
            self._listener.worker_ready(self)
        elif isinstance(event, LocalInitFailed):
            self._listener.worker_init_failed(self, event.error)

    def _deliver_exit(self) -> None:
        if not self._abandoned.is_set():
            self._listener.worker_exited(self, 0)
