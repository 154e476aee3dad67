"""The backend contract: what the engine needs from a kind of worker, and what it may rely on.

A backend turns "run this chunk" into work on some kind of worker (a process, a thread, a cluster
node) and reports back.  The engine (``_engine/``) talks to a backend only through the names in
this module, asks ``capabilities`` what it can do (never its type), and knows nothing of its wire
format.  A new backend is one module with a ``create(options)`` function plus one line in
``registry.py``.

What a backend must do
======================

In the submitting thread (a user thread or a feeder thread, never the loop thread):

* ``prepare_job(job)`` once per call, ``prepare_chunk(chunk)`` once per chunk: make whatever the
  worker will need (pickles, for processes) and keep it in ``job.payload`` / ``chunk.payload``,
  which the engine stores but never reads.  An item that cannot be prepared is recorded in
  ``chunk.parent_errors`` (it then fails alone); ``prepare_job`` may raise (the call then fails).
* ``repack_isolated(chunk)`` re-prepares a chunk item by item (after a worker could not read it as
  a whole); ``prepare_job(job, by_value=True)`` re-prepares a function that a worker could not
  resolve by reference.  The engine calls both off the loop thread (``_engine/preparation.py``).

On the loop thread (``start_worker`` and every ``WorkerHandle`` method), never blocking:

* ``start_worker(index, loop, listener)`` returns at once; the worker then reports, through the
  ``WorkerListener``, in this order:

  1. ``worker_ready`` once, before it is given any chunk (``worker_init_failed`` instead, when
     the initializer raised: the worker then exits by itself);
  2. for every chunk it was given, exactly one of ``chunk_finished``, ``chunk_unreadable`` (the
     items could not be read as a whole) or ``function_unreadable``, unless it is lost first;
     a worker that ``queues_chunks`` reports them in the order it was given them (all but
     those it gave back to ``withdraw()``);
  3. ``worker_exited`` exactly once, last, whatever happened: after ``stop()``, ``kill()`` or
     ``terminate()``, or when it died by itself.

* ``position()`` says which chunk and item the worker is at (``WorkerPosition``), read from
  where the worker writes it as it goes (a shared-memory row for processes), so that when a
  worker is lost the engine blames exactly the item that was running.  A worker that has not
  marked a chunk yet reports the previous chunk's id (or 0): the chunk is then known not to have
  started, and is run again without using its retries.

What the engine does when a backend breaks a rule
=================================================

The engine guards itself, so a faulty backend can make tasks fail but never hang a pool or loop
forever (``tests/engine/test_backend_contract.py`` breaks each rule with a fake backend):

* never ready: tasks wait (an initializer may take long), unless ``Settings.worker_start_timeout``
  is set; ``terminate()`` still ends the pool;
* exits without reporting its chunk, or before marking it: the chunk is run again at most
  ``Settings.max_unstarted_losses`` times, then fails with ``WorkerLostError``;
* reports ``worker_exited`` twice: the second report is ignored;
* ``kill()`` not followed by ``worker_exited``: after ``shutdown_grace_seconds`` the engine
  declares the worker gone itself, so ``join()`` returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from corepool._choice import Choice
from corepool._record import Record

if TYPE_CHECKING:
    import multiprocessing.context

    from corepool._wire.messages import CallStyle
    from corepool.settings import Settings


# The records below are ``Record``s (``typing.NamedTuple``s to the type checker) rather than frozen
# dataclasses: as frozen and as typed, but ~0.02 ms each to define instead of ~1 ms (and
# ``dataclasses`` with ``inspect``, ~5-12 ms, need not be imported at all): the first pool pays
# the import (benchmarks/start_first).
class Capabilities(Record):
    """What a backend can do; the engine reads these where they matter."""

    name: str
    kills_workers: bool
    """A running task can be stopped by ending its worker.  Without it, a task that times out or
    is cancelled still fails on time, but its worker is abandoned and the task may run on."""
    isolates_workers: bool
    """Workers are separate processes on this host: a crash stays in its worker, values are
    pickled, and a worker's memory can be measured (``max_memory_per_worker``)."""


class Flavour(Choice):
    """Which standard library's exceptions a front door's failures are also instances of
    (``_wire.rebuild`` makes them)."""

    MULTIPROCESSING = "multiprocessing"
    CONCURRENT_FUTURES = "concurrent.futures"


class BackendOptions(Record):
    """A front door's validated arguments for building a backend (see ``registry.create``)."""

    size: int
    settings: Settings
    initializer: Callable[..., object] | None = None
    initargs: tuple[Any, ...] = ()
    context: multiprocessing.context.BaseContext | str | None = None
    native_threads: int | str | None = "auto"
    thread_name_prefix: str = ""
    measure_memory: bool = False
    flavour: Flavour | None = None
    """Which standard library's exceptions a task's failure is also an instance of (the front
    door's: ``multiprocessing`` for ``Pool``, ``concurrent.futures`` for the executors)."""
    address: str | None = None
    """A cluster's scheduler address (``backend="dask"``)."""
    client: Any = None
    """An existing cluster client to borrow (``backend="dask"``: a ``distributed.Client``)."""


class Phase(Choice):
    """Where a worker is within the chunk it holds."""

    READING = "reading"
    """Reading (unpickling) the call: no item has started."""
    RUNNING = "running"
    """Running ``WorkerPosition.item``."""
    PACKING = "packing"
    """Every item ran; writing (pickling) the result of ``WorkerPosition.item``."""


class WorkerPosition(Record):
    chunk_id: int
    """The chunk the worker marked last (0 before its first)."""
    phase: Phase
    item: int
    """Index within the chunk of the item running or being packed (0 while reading)."""
    started_ns: int
    """``time.monotonic_ns()`` when that item or phase began (0 unless timeouts asked for it)."""


class OptionsView(Protocol):
    """What a backend sees of a job's options (``_engine.tasks.TaskOptions``)."""

    @property
    def retries(self) -> int: ...


class JobView(Protocol):
    """What a backend sees of a job (``_engine.tasks.Job``)."""

    @property
    def id(self) -> int: ...
    @property
    def options(self) -> OptionsView: ...
    def describe_item(self, index: int) -> str:
        """Words for the item at ``index`` of the call, for error messages."""
        ...

    @property
    def fn(self) -> Callable[..., Any]: ...
    @property
    def style(self) -> CallStyle: ...
    @property
    def tracks_start_times(self) -> bool:
        """Whether a per-task timeout needs the start time of every item."""
        ...

    @property
    def waiting_caller(self) -> int | None:
        """The thread that called and waits for the whole call (``Pool.map``), if one does."""
        ...

    payload: object
    """The backend's own (``prepare_job``); the engine only keeps it."""


class ChunkView(Protocol):
    """What a backend sees of a chunk (``_engine.tasks.Chunk``)."""

    @property
    def id(self) -> int: ...
    @property
    def job(self) -> JobView: ...
    @property
    def start(self) -> int:
        """Index, within the call, of the chunk's first item."""
        ...

    @property
    def attempts(self) -> int:
        """How often the chunk's item was run again after its worker was lost (retries)."""
        ...

    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def parent_errors(self) -> dict[int, BaseException]: ...

    payload: object
    """The backend's own (``prepare_chunk``); the engine only keeps it."""


class Loop(Protocol):
    """The part of the engine's event loop a backend may use (on the loop thread)."""

    def call_soon(self, callback: Callable[..., object], *args: Any) -> object: ...
    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> object: ...
    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> object: ...
    def at_end_of_round(self, callback: Callable[[], object]) -> None: ...
    def add_reader(self, fd: int, callback: Callable[..., object], *args: Any) -> None: ...
    def add_writer(self, fd: int, callback: Callable[..., object], *args: Any) -> None: ...
    def remove_reader(self, fd: int) -> bool: ...
    def remove_writer(self, fd: int) -> bool: ...


class Outcome(ABC):
    """What came back for a chunk, unpacked on the results thread (or, when ``quick``, on the
    loop thread)."""

    quick = False
    """Unpacking runs none of the user's code and takes microseconds, so the dispatcher may
    deliver the outcome itself instead of waking the results thread for it."""

    @abstractmethod
    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        """The chunk's results (``None`` where failed) and its errors by offset."""


class ChunkFinished(Record):
    chunk_id: int
    outcome: Outcome
    seconds: float
    """Time the worker spent running the items (not reading or packing them): chunk sizing."""
    rss: int = 0
    """The worker's resident memory after the chunk, when it measures it (memory limit)."""
    cpu_seconds: float = 0.0
    """CPU time the worker's thread or process spent running the items (0: not measured)."""
    overhead_seconds: float = 0.0
    """Time the worker spent reading the items and writing the results (pickling)."""
    queued_seconds: float = 0.0
    """Of ``seconds``, the time the worker was ready to run but queued for a core (a machine
    busy with other programs); 0 where not measured."""


class WorkerHandle(ABC):
    """The parent's handle on one worker; every method is called on the loop thread."""

    index: int
    name: str
    queues_chunks: bool = False
    """``run()`` may be called again while the worker holds chunks: it runs them one after
    another in the order given, reporting each, and ``position()`` names the one it is at.  The
    engine then sends a busy worker its next short chunks ahead (``_engine/queueing.py``)."""
    withdraws_queued: bool = False
    """``withdraw()`` can take back a queued chunk the worker has not started (worker threads,
    whose queue is in this process).  Such a worker is sent the next chunk of a map ahead
    whatever its length: a worker that frees up while it waits takes it over."""

    @property
    @abstractmethod
    def pid(self) -> int | None: ...

    @abstractmethod
    def position(self) -> WorkerPosition:
        """Where the worker is (see the module docstring); cheap, no message."""

    @abstractmethod
    def run(self, chunk: ChunkView) -> None:
        """Send a chunk; the worker must be idle, unless it ``queues_chunks``."""

    def withdraw(self, chunk: ChunkView) -> bool:
        """Take back ``chunk``, queued behind the running one: True if the worker had not
        started it (it will then neither run nor report it), False if it has.  Only called on
        a worker that ``withdraws_queued``."""
        return False

    @abstractmethod
    def stop(self) -> None:
        """Ask the worker to exit after its current chunk."""

    @abstractmethod
    def kill(self) -> None:
        """End the worker now.  A backend without ``kills_workers`` abandons it instead: it
        reports ``worker_exited`` at once and ignores whatever the worker does afterwards."""

    @abstractmethod
    def terminate(self) -> None:
        """End the worker politely but promptly (SIGTERM for a process)."""

    @abstractmethod
    def release(self) -> None:
        """Free the OS resources of an exited worker (called once, after ``worker_exited``)."""


class WorkerListener(Protocol):
    """Implemented by the dispatcher; every call arrives on the loop thread."""

    def worker_ready(self, worker: WorkerHandle) -> None: ...
    def worker_init_failed(self, worker: WorkerHandle, error: BaseException) -> None: ...
    def chunk_finished(self, worker: WorkerHandle, event: ChunkFinished) -> None: ...
    def chunk_unreadable(
        self, worker: WorkerHandle, chunk_id: int, error: BaseException
    ) -> None: ...
    def function_unreadable(
        self, worker: WorkerHandle, chunk_id: int, error: BaseException
    ) -> None: ...
    def worker_exited(self, worker: WorkerHandle, exitcode: int | None) -> None: ...
    def replace_workers(self) -> None:
        """Every worker is to finish its chunk and go; ``start_worker`` then gives the new
        kind (``backend="auto"`` switching from threads to processes)."""
        ...


class Backend(ABC):
    capabilities: Capabilities

    @property
    def choice(self) -> str | None:
        """What a backend that chooses (``auto``) chose, and why; shown by ``statistics()``."""
        return None

    @property
    def default_size(self) -> int | None:
        """How many workers the backend offers when the front door was given no size (a
        cluster's total threads); ``None``: the front door's default (this host's cores)."""
        return None

    def tuned(self, settings: Settings) -> Settings:
        """The settings the engine runs with: a backend whose round trips cost far more than a
        local worker's may ask for larger chunks (``target_chunk_seconds``)."""
        return settings

    def prepare_job(self, job: JobView, *, by_value: bool = False) -> None:  # noqa: B027
        """Once per job, off the loop thread (may raise: the job then fails).  ``by_value``:
        a worker could not resolve the function as first prepared; send its code this time
        (raise if that is impossible)."""

    def prepare_chunk(self, chunk: ChunkView) -> None:  # noqa: B027 - optional hook
        """Once per chunk, off the loop thread; records failures in ``chunk.parent_errors``."""

    def repack_isolated(self, chunk: ChunkView) -> None:  # noqa: B027 - optional hook
        """Re-prepare a chunk item by item (after the worker could not read it whole)."""

    @abstractmethod
    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        """Start worker ``index`` (on the loop thread; returns at once)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the backend holds once every worker has exited."""
