"""The typed messages that cross between the parent and a worker process.

Named for their stage, as in ``concurrent.futures``: a ``Call`` goes out, a ``Done`` comes back.

    parent                                   worker
      Call(chunk_id, function, style, items) ──▶  run each item, recording progress on the board
      Stop()                                 ──▶  exit the loop
      ◀── Ready(pid)                              initializer finished
      ◀── InitFailed(error)                       initializer raised; the worker exits
      ◀── Done(chunk_id, results, errors, …)      one per Call, always, unless the worker dies
      ◀── CallUnreadable(chunk_id, error)         the chunk's items could not be unpickled as a
                                                  whole; the parent resends them one by one
      ◀── FunctionUnreadable(chunk_id, error)     the function could not be unpickled (a
                                                  ``__main__`` function the worker's copy of
                                                  ``__main__`` lacks); the parent resends it by
                                                  value, or fails the chunk's items with error

Every message is pickled as a whole by the sender; payloads that might fail to unpickle (the
user's function, arguments and results) travel inside as ``bytes`` so that a bad payload spoils
only the item it belongs to, never the message.

Messages are records (``_record.Record``, a ``typing.NamedTuple`` to the type checker): frozen,
typed and read by field name like a frozen dataclass, but they pickle to half the bytes and,
unlike ``dataclasses`` (with ``inspect``, ~10 ms), cost nothing to import in every new worker
process (benchmarks/start).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from corepool._choice import Choice
from corepool._record import Record

if TYPE_CHECKING:
    from corepool._wire.remote_error import RemoteError


class CallStyle(int, Choice):
    """How a chunk's items become calls of the function."""

    APPLY = 0
    """Each item is ``(args, kwargs)``: ``fn(*args, **kwargs)``."""
    ONE = 1
    """Each item is one argument: ``fn(item)`` (``map``)."""
    STAR = 2
    """Each item is an argument tuple: ``fn(*item)`` (``starmap``)."""


class FunctionDef(Record):
    """The function itself, sent the first time a worker needs it; the worker caches it."""

    token: int
    blob: bytes


class FunctionRef(Record):
    """A function the worker already cached under ``token``."""

    token: int


class PackedItems(Record):
    """A list of values on the wire.

    ``bulk`` is the pickle of the whole list (with ``None`` at isolated positions), or ``None``
    when every item is isolated.  ``isolated`` maps an index to that item's own pickle, so that a
    value that fails to unpickle fails only its own task.
    """

    size: int
    bulk: bytes | None
    isolated: dict[int, bytes] | None = None
    """Never mutated; ``None`` when nothing is isolated."""


class Call(Record):
    chunk_id: int
    function: FunctionDef | FunctionRef
    style: CallStyle
    items: PackedItems
    forget: tuple[int, ...] = ()
    """Function tokens the worker may drop from its cache."""
    track_start_times: bool = False
    """Record when each item starts (needed only for per-task timeouts)."""


class Stop(Record):
    """Finish and exit."""

    reason: str = "stop"


class Ready(Record):
    pid: int


class InitFailed(Record):
    error: RemoteError


class Done(Record):
    chunk_id: int
    results: PackedItems
    errors: dict[int, RemoteError]
    seconds: float
    """Time spent running the items (not unpickling or pickling), for chunk sizing."""
    rss: int = 0
    """The worker's resident memory after the chunk, in bytes (0 when not measured)."""
    cpu: float = 0.0
    """CPU time the worker spent running the items (against ``seconds`` of wall time, it tells
    CPU-bound work from waiting: ``backend="auto"``, insights)."""
    overhead: float = 0.0
    """Time the worker spent reading the call and writing the results (unpickling, pickling)."""
    queued: float = 0.0
    """Of ``seconds``, the time the worker was ready to run but queued for a core (a busy
    machine, ``_worker/cpu_clock.py``): not waiting, so left out of the CPU share."""


class CallUnreadable(Record):
    chunk_id: int
    error: RemoteError


class FunctionUnreadable(Record):
    """The worker could not unpickle the chunk's function, so it ran none of the items."""

    chunk_id: int
    error: RemoteError


ToWorker = Call | Stop
FromWorker = Ready | InitFailed | Done | CallUnreadable | FunctionUnreadable
