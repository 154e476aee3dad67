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

Every message is pickled as a whole by the sender; payloads that might fail to unpickle (the
user's function, arguments and results) travel inside as ``bytes`` so that a bad payload spoils
only the item it belongs to, never the message.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from corepool._wire.remote_error import RemoteError


class CallStyle(enum.IntEnum):
    """How a chunk's items become calls of the function."""

    APPLY = 0
    """Each item is ``(args, kwargs)``: ``fn(*args, **kwargs)``."""
    ONE = 1
    """Each item is one argument: ``fn(item)`` (``map``)."""
    STAR = 2
    """Each item is an argument tuple: ``fn(*item)`` (``starmap``)."""


@dataclass(frozen=True)
class FunctionDef:
    """The function itself, sent the first time a worker needs it; the worker caches it."""

    token: int
    blob: bytes


@dataclass(frozen=True)
class FunctionRef:
    """A function the worker already cached under ``token``."""

    token: int


@dataclass(frozen=True)
class PackedItems:
    """A list of values on the wire.

    ``bulk`` is the pickle of the whole list (with ``None`` at isolated positions), or ``None``
    when every item is isolated.  ``isolated`` maps an index to that item's own pickle, so that a
    value that fails to unpickle fails only its own task.
    """

    count: int
    bulk: bytes | None
    isolated: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    chunk_id: int
    function: FunctionDef | FunctionRef
    style: CallStyle
    items: PackedItems
    forget: tuple[int, ...] = ()
    """Function tokens the worker may drop from its cache."""
    track_start_times: bool = False
    """Record when each item starts (needed only for per-task timeouts)."""


@dataclass(frozen=True)
class Stop:
    """Finish and exit."""


@dataclass(frozen=True)
class Ready:
    pid: int


@dataclass(frozen=True)
class InitFailed:
    error: RemoteError


@dataclass(frozen=True)
class Done:
    chunk_id: int
    results: PackedItems
    errors: dict[int, RemoteError]
    seconds: float
    """Time spent running the items (not unpickling or pickling), for chunk sizing."""
    rss: int = 0
    """The worker's resident memory after the chunk, in bytes (0 when not measured)."""


@dataclass(frozen=True)
class CallUnreadable:
    chunk_id: int
    error: RemoteError


ToWorker = Call | Stop
FromWorker = Ready | InitFailed | Done | CallUnreadable
