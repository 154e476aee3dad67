"""The Dask backend: a pool whose workers are slots of concurrency on a ``dask.distributed``
cluster.

    feeder thread              loop thread                      Dask's callback thread
    prepare_chunk: pickle ──▶ DaskSlot.run(chunk):
    items, scatter large        client.submit(run_chunk, ...,
    arrays once per job           key=<unique>, pure=False) ──▶ scheduler ──▶ a Dask worker
                                                                               run_chunk
    DaskSlot._finished ◀── call_soon_threadsafe ◀── future done: fetch the DaskDone ◀─┘
      chunk_finished / chunk_unreadable / function_unreadable / worker_exited

A slot holds one chunk at a time, like every worker of the engine, so the pool's size (by
default the cluster's total threads) bounds what runs on the cluster, and one Dask task carries a
whole chunk: automatic chunking batches tiny tasks from the times ``run_chunk`` measures.

What Dask cannot do, the capabilities say: a running Dask task cannot be stopped
(``kills_workers=False``).  On a timeout or a cancel the engine abandons the slot: ``kill()``
cancels the Dask future, reports the slot gone at once, and a new slot takes its place; the task
may run on to its end on its Dask worker.  A Dask worker that dies mid-task is Dask's business:
the scheduler runs the task again elsewhere.  Only when the task has killed more workers than
``distributed.scheduler.allowed-failures`` allows does its future fail with ``KilledWorker``,
which ``_lost`` turns into the engine's recovery (see there).
"""

from __future__ import annotations

import itertools
import pickle
import threading
import uuid
from typing import TYPE_CHECKING, Any

from corepool._backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    ChunkView,
    Flavour,
    JobView,
    Loop,
    Outcome,
    WorkerHandle,
    WorkerListener,
)
from corepool._backends.dask_arrays import ArrayPacker
from corepool._backends.dask_connect import connect, total_threads
from corepool._backends.dask_task import (
    DaskCall,
    DaskDone,
    host_identity,
    run_chunk,
)
from corepool._record import Record
from corepool._wire import serialization
from corepool._wire.rebuild import local_error, rebuild
from corepool._wire.remote_error import Stage
from corepool.settings import DEFAULT_SETTINGS, Settings

DASK_CHUNK_SECONDS = 0.25
"""How long an automatically sized chunk should run on a Dask worker (see ``tuned``)."""

if TYPE_CHECKING:
    import distributed

    from corepool._backends.dask_slot import DaskSlot


def create(options: BackendOptions) -> DaskBackend:
    client, owned = connect(options.address, options.client)
    return DaskBackend(client, owned, options)


class DaskJob(Record):
    """A job as this backend keeps it (``job.payload``)."""

    function: bytes
    by_value: bool
    """Whether ``function`` carries the function's code (else a reference to its module)."""
    arrays: ArrayPacker
    function_arrays: frozenset[int]
    """The large arrays the function holds (a ``partial`` of an array, say)."""


class DaskItems(Record):
    """A chunk as this backend keeps it (``chunk.payload``)."""

    items: bytes | tuple[bytes, ...]
    arrays: frozenset[int]


class DaskOutcome(Outcome):
    def __init__(self, done: DaskDone, size: int, flavour: Flavour) -> None:
        self._done = done
        self._size = size
        self._flavour = flavour

    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        done = self._done
        errors = {index: rebuild(remote, self._flavour) for index, remote in done.errors.items()}
        if isinstance(done.results, bytes):
            try:
                values: list[Any] = pickle.loads(done.results)
            except Exception as error:  # noqa: BLE001 - every result of the chunk is lost
                failed = local_error(error, Stage.UNPICKLE_RESULT, self._flavour)
                return [None] * self._size, dict.fromkeys(range(self._size), failed)
            return values, errors
        values = []
        for index, blob in enumerate(done.results):
            values.append(None if blob is None else self._load_one(blob, index, errors))
        return values, errors

    def _load_one(self, blob: bytes, index: int, errors: dict[int, BaseException]) -> Any:
        try:
            return pickle.loads(blob)
        except Exception as error:  # noqa: BLE001 - this result fails alone
            errors[index] = local_error(error, Stage.UNPICKLE_RESULT, self._flavour)
            return None


class DaskBackend(Backend):
    def __init__(self, client: distributed.Client, owns_client: bool, options: BackendOptions):
        self.capabilities = Capabilities("dask", kills_workers=False, isolates_workers=False)
        self.client = client
        self._owns_client = owns_client
        self.flavour = options.flavour or Flavour.MULTIPROCESSING
        self.token = uuid.uuid4().hex[:12]
        self.host = host_identity()
        self._initializer = (
            serialization.dumps((options.initializer, options.initargs), by_value=True)
            if options.initializer is not None
            else None
        )
        self._runs = itertools.count(1)
        self._lock = threading.Lock()
        self._slots: set[DaskSlot] = set()

    @property
    def default_size(self) -> int:
        """The cluster's total threads: one slot per thread."""
        return total_threads(self.client)

    def tuned(self, settings: Settings) -> Settings:
        # A Dask task costs milliseconds of round trips (scheduler, worker, result fetch; 15-25
        # ms on 2 loaded cores, where the scheduler of a LocalCluster shares the pool's process)
        # where a local worker costs ~0.1 ms.  200 x 20 ms on 2 Dask threads, parallel
        # efficiency by target with one chunk per slot: 0.1 s 0.70, 0.25 s 0.83, 0.5 s 0.85 (the
        # map's cap of 4 chunks per slot then rules), 1 s 0.84.  So chunks of 0.25 s (an imap's
        # first results stay prompt), and each slot holds one more sent ahead (``DaskSlot``),
        # which hides the round trip.  What the user chose is kept.
        changes: dict[str, float] = {}
        if settings.target_chunk_seconds == DEFAULT_SETTINGS.target_chunk_seconds:
            changes["target_chunk_seconds"] = DASK_CHUNK_SECONDS
        if settings.worker_queue_seconds == DEFAULT_SETTINGS.worker_queue_seconds:
            # Room for one chunk of the target's length behind a running one (queueing.py).
            changes["worker_queue_seconds"] = 2 * DASK_CHUNK_SECONDS
        if settings.max_queued_chunks == DEFAULT_SETTINGS.max_queued_chunks:
            changes["max_queued_chunks"] = 1
        return settings.replace(**changes) if changes else settings

    # -- submitting thread

    def prepare_job(self, job: JobView, *, by_value: bool = False) -> None:
        # A function from ``__main__`` always travels by value: a Dask worker's ``__main__`` is
        # the Dask worker program, never the user's script.
        by_value = by_value or getattr(job.fn, "__module__", None) == "__main__"
        arrays = ArrayPacker(self.client)
        blob, by_value, named = arrays.dumps(job.fn, by_value=by_value)
        job.payload = DaskJob(blob, by_value, arrays, named)

    def prepare_chunk(self, chunk: ChunkView) -> None:
        try:
            blob, _, named = _job_payload(chunk).arrays.dumps(list(chunk.items))
        except Exception:  # noqa: BLE001 - find which items cannot be pickled
            self.repack_isolated(chunk)
        else:
            chunk.payload = DaskItems(blob, named)

    def repack_isolated(self, chunk: ChunkView) -> None:
        arrays = _job_payload(chunk).arrays
        blobs: list[bytes] = []
        names: set[int] = set()
        for index, item in enumerate(chunk.items):
            try:
                blob, _, named = arrays.dumps(item)
            except Exception as error:  # noqa: BLE001 - this item fails alone
                blob, named = pickle.dumps(None), frozenset()
                chunk.parent_errors[index] = local_error(error, Stage.PICKLE_CALL, self.flavour)
            blobs.append(blob)
            names.update(named)
        chunk.payload = DaskItems(tuple(blobs), frozenset(names))

    # -- loop thread

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        from corepool._backends.dask_slot import DaskSlot

        slot = DaskSlot(index, self, loop, listener)
        with self._lock:
            self._slots.add(slot)
        return slot

    def submit(self, chunk: ChunkView) -> distributed.Future:
        job = chunk.job
        payload = _job_payload(chunk)
        items = chunk.payload
        assert isinstance(items, DaskItems)
        call = DaskCall(self.token, job.id, job.style, items.items, self.host, self._initializer)
        arrays = payload.arrays.futures(payload.function_arrays | items.arrays)
        key = f"corepool-{self.token}-{chunk.id}-{next(self._runs)}"
        # Every user value is inside ``call``: no user keyword can reach ``Client.submit``.
        return self.client.submit(run_chunk, call, payload.function, arrays, key=key, pure=False)

    def forget(self, slot: DaskSlot) -> None:
        with self._lock:
            self._slots.discard(slot)

    def close(self) -> None:
        if self._owns_client:
            self.client.close()


def _job_payload(chunk: ChunkView) -> DaskJob:
    payload = chunk.job.payload
    assert isinstance(payload, DaskJob)
    return payload
