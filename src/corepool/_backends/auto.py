"""``backend="auto"``: start on threads, measure the first tasks, switch to processes once if the
work is CPU-bound Python (the rule is in ``auto_choice.py``).

    start ─▶ thread workers + GIL sampler ─▶ chunk_finished (CPU and wall time per chunk)
                                         │ enough seen (Settings.auto_probe_chunks)
                                         ▼
                             choose(Observation) ─▶ threads: stay, stop sampling
                                                 └▶ processes: listener.replace_workers():
                                                    each thread worker finishes its chunk
                                                    and goes; process workers take the slots

Nothing is lost or run twice: a thread worker asked to go finishes its chunk first, and every
chunk prepared while probing is prepared for processes too (pickled), so whichever workers take
it can run it.  A call that cannot be pickled decides for threads.  The choice and its reason are
in ``pool.statistics().backend_choice`` and logged at DEBUG on the ``corepool`` logger.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from corepool._backends import interpreters, pickled_calls, processes, threads
from corepool._backends.auto_choice import Choice, Observation, choose
from corepool._backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    ChunkFinished,
    ChunkView,
    JobView,
    Loop,
    WorkerHandle,
    WorkerListener,
)
from corepool._backends.gil_sampler import GilSampler

logger = logging.getLogger("corepool")


def create(options: BackendOptions) -> AutoBackend:
    return AutoBackend(options)


def gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return bool(is_enabled()) if is_enabled is not None else True


class AutoBackend(Backend):
    def __init__(self, options: BackendOptions) -> None:
        self._options = options
        self._threads: Backend = threads.create(options)
        self._processes: Backend | None = None
        self._choice: Choice | None = None
        self._sampler: GilSampler | None = None
        self._picklable = True
        self._packing = threading.Lock()
        self._pickled: dict[int, tuple[float, int]] = {}
        """Pickling time and size of each chunk packed while probing, until it has run: the
        feeder packs chunks ahead of the workers, and only those that ran weigh against the
        time they ran (counting all of them let a probe of 9 chunks find its pickling
        "longer than running it" on a loaded machine, and stay on threads)."""
        self._pickle_seconds = 0.0
        self._bytes = 0
        self._ran: list[tuple[float, float]] = []
        """When probed chunks ran (``perf_counter`` spans), for the GIL samples to count."""
        self._chunks = 0
        self._wall = self._cpu = 0.0
        settings = options.settings
        self._probe_chunks = max(settings.auto_probe_chunks, options.size)
        self._probe_seconds = settings.auto_probe_seconds

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        current = self._processes if self._chosen("processes") else self._threads
        assert current is not None
        return current.capabilities

    @property
    def choice(self) -> str | None:
        """What was chosen and why, once chosen."""
        choice = self._choice
        return None if choice is None else f"{choice.backend}: {choice.reason}"

    def _chosen(self, backend: str) -> bool:
        return self._choice is not None and self._choice.backend == backend

    # -- preparing (submitting threads)

    def prepare_job(self, job: JobView, *, by_value: bool = False) -> None:
        if self._chosen("threads"):
            return
        try:
            pickled_calls.pack_function(job, by_value=by_value)
        except Exception:
            if self._choice is not None:
                raise  # processes chosen: the function must travel
            self._picklable = False  # threads can still run it

    def prepare_chunk(self, chunk: ChunkView) -> None:
        if self._chosen("threads"):
            return
        # CPU time, not wall time: while the probe's thread workers run Python, the packing
        # thread waits for the GIL (up to the 5 ms switch interval a time), which a worker
        # process would not make it do.
        started = time.thread_time()
        pickled_calls.pack_items(chunk)
        if self._choice is None:
            took, size = time.thread_time() - started, pickled_calls.packed_size(chunk.payload)
            with self._packing:  # feeder threads of several calls may pack at once
                self._pickled[chunk.id] = (took, size)
        if chunk.parent_errors and self._choice is None:
            chunk.parent_errors.clear()  # only processes need the pickles
            chunk.payload = None
            self._picklable = False

    def repack_isolated(self, chunk: ChunkView) -> None:
        if not self._chosen("threads"):
            pickled_calls.pack_items_isolated(chunk)

    # -- workers (loop thread)

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        observer = _Observer(listener, self)
        if self._chosen("processes"):
            assert self._processes is not None
            return self._processes.start_worker(index, loop, observer)
        if self._choice is None and self._sampler is None:
            self._sampler = GilSampler()
            self._sampler.start()
        return self._threads.start_worker(index, loop, observer)

    def close(self) -> None:
        self._stop_sampling()
        self._threads.close()
        if self._processes is not None:
            self._processes.close()

    # -- probing

    def observe(self, event: ChunkFinished, listener: WorkerListener) -> None:
        """A chunk finished on a thread worker while probing (loop thread)."""
        if self._choice is not None or event.seconds <= 0:
            return
        self._chunks += 1
        self._wall += event.seconds
        self._cpu += event.cpu_seconds
        with self._packing:
            took, size = self._pickled.pop(event.chunk_id, (0.0, 0))
        self._pickle_seconds += took
        self._bytes += size
        now = time.perf_counter()
        self._ran.append((now - event.seconds, now))
        enough_time = self._wall >= self._probe_seconds
        if self._chunks < self._probe_chunks or not (enough_time or self._chunks >= 50):
            return
        sampler = self._sampler
        seen = Observation(
            self._chunks,
            self._wall,
            self._cpu,
            sampler.held_during(self._ran) if sampler is not None else None,
            gil_enabled(),
            self._picklable,
            self._pickle_seconds,
            self._bytes,
        )
        self._decide(choose(seen), listener)

    def _decide(self, choice: Choice, listener: WorkerListener) -> None:
        self._stop_sampling()
        with self._packing:
            self._pickled.clear()  # chunks packed ahead and not run: no longer weighed
        if choice.backend == "processes" and interpreters.unavailable_reason() is None:
            # Considered, and measured: two subinterpreter workers took ~3x as long as two
            # processes to start and ran CPU-bound Python no faster (benchmarks/results/
            # interpreters.md), so processes stay the choice for CPU-bound Python.
            choice = Choice(
                choice.backend, choice.reason + "; subinterpreters are available but start slower"
            )
        logger.debug("corepool backend='auto' chose %s: %s", choice.backend, choice.reason)
        if choice.backend == "processes":
            self._processes = processes.create(self._options)
            self._choice = choice
            listener.replace_workers()
        else:
            self._choice = choice

    def _stop_sampling(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop()


class _Observer:
    """The dispatcher's listener, seen through the auto backend: chunk times are noted first."""

    def __init__(self, listener: WorkerListener, backend: AutoBackend) -> None:
        self._listener = listener
        self._backend = backend

    def worker_ready(self, worker: WorkerHandle) -> None:
        self._listener.worker_ready(worker)

    def worker_init_failed(self, worker: WorkerHandle, error: BaseException) -> None:
        self._listener.worker_init_failed(worker, error)

    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None:
        self._listener.chunk_finished(worker, event)
        self._backend.observe(event, self._listener)

    def chunk_unreadable(self, worker: WorkerHandle, chunk_id: int, error: BaseException) -> None:
        self._listener.chunk_unreadable(worker, chunk_id, error)

    def function_unreadable(
        self, worker: WorkerHandle, chunk_id: int, error: BaseException
    ) -> None:
        self._listener.function_unreadable(worker, chunk_id, error)

    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None:
        self._listener.worker_exited(worker, exitcode)

    def replace_workers(self) -> None:
        self._listener.replace_workers()
