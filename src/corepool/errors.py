"""Every error corepool raises, in one place.

A task's own exception is re-raised in the caller with its original type; the classes here are for
what is *not* the task's own doing (a lost worker, a timeout, a value that cannot cross the process
boundary) or for a task exception that could not be brought home intact.

Code written for ``multiprocessing`` and ``concurrent.futures`` keeps catching what it caught
there, so the classes also derive from the standard type raised in the same situation (the MRO
puts corepool's base first, then the standard type; ``except CorepoolError`` catches them all):

    WorkerLostError     BrokenProcessPool -> BrokenExecutor -> RuntimeError
                        (what a crashed worker gives under ProcessPoolExecutor; multiprocessing.Pool
                        hangs instead, so a Pool user has nothing to keep, except that the error is
                        now also a RuntimeError)
    WorkerStartError    BrokenProcessPool
    InitializerError    BrokenProcessPool and BrokenThreadPool (what either executor raises when an
                        initializer fails), so BrokenExecutor
    TaskTimeoutError    TimeoutError (= concurrent.futures.TimeoutError since 3.11; not
                        multiprocessing.TimeoutError, which means "get(timeout) stopped waiting")
    TaskCancelledError  concurrent.futures.CancelledError
    PoolClosedError     ValueError ("Pool not running"; the executors raise RuntimeError themselves)
    LockNotOwnedError   AssertionError (multiprocessing) and RuntimeError (threading)
    SegmentGoneError    FileNotFoundError
    SerializationError  at raise time also the type of the error that pickling raised
                        (``_wire/combined_errors.py``): ``except pickle.PicklingError``, ``except
                        TypeError``, the user's own ``except MyError`` keep working.  A Pool result
                        that cannot be pickled is also a multiprocessing.pool.MaybeEncodingError;
                        under ProcessPoolExecutor, a call or result that cannot be *unpickled* is
                        also a BrokenProcessPool (what the standard executor raises there).

The worker's traceback is the ``__cause__`` of a task's exception, as an instance of exactly the
standard class (``multiprocessing.pool.RemoteTraceback`` under Pool,
``concurrent.futures.process._RemoteTraceback`` under the executors; ``_wire.rebuild`` picks);
``isinstance(cause, corepool.RemoteTraceback)`` is true for both.
"""

from __future__ import annotations

import abc
import multiprocessing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corepool._executor_errors import (
        InitializerError,
        TaskCancelledError,
        WorkerLostError,
        WorkerStartError,
    )

__all__ = [
    "CapacityError",
    "CorepoolError",
    "HolderDiedError",
    "InitializerError",
    "LockNotOwnedError",
    "PoolClosedError",
    "RemoteTaskError",
    "RemoteTraceback",
    "SegmentGoneError",
    "SerializationError",
    "SharedObjectClosedError",
    "TaskCancelledError",
    "TaskTimeoutError",
    "WorkerLostError",
    "WorkerStartError",
]


class CorepoolError(Exception):
    """Base class of the errors that corepool itself raises."""


class RemoteTraceback(Exception, metaclass=abc.ABCMeta):
    """A worker's formatted traceback, attached as ``__cause__`` of a re-raised error.

    Printing the re-raised exception therefore shows the worker's stack first, then the caller's.
    The cause corepool attaches is an instance of the standard library's own class (its text in
    ``tb``, ``str()`` gives it), and ``isinstance(cause, corepool.RemoteTraceback)`` holds for both
    (``multiprocessing.pool.RemoteTraceback``, ``concurrent.futures.process._RemoteTraceback``).
    """

    _STANDARD = frozenset(
        {
            ("multiprocessing.pool", "RemoteTraceback"),
            ("concurrent.futures.process", "_RemoteTraceback"),
        }
    )

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb

    @classmethod
    def __subclasshook__(cls, candidate: type) -> bool | Any:
        # By name: neither module need be imported to ask (multiprocessing.pool costs ~1 ms).
        if cls is RemoteTraceback and any(
            (getattr(kind, "__module__", ""), kind.__qualname__) in cls._STANDARD
            for kind in candidate.__mro__
        ):
            return True
        return NotImplemented


class RemoteTaskError(CorepoolError):
    """A task raised an exception that could not be brought to the caller as itself.

    This happens when the exception object cannot be pickled in the worker, or cannot be
    unpickled in the parent (a classic case: an exception class whose ``__init__`` takes
    arguments other than its message).  The type name, message and traceback are kept.
    """

    def __init__(self, type_name: str, message: str, traceback_text: str, reason: str) -> None:
        super().__init__(
            f"{type_name}: {message} (the exception could not be transferred: {reason})"
        )
        self.type_name = type_name
        self.message = message
        self.traceback_text = traceback_text
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.type_name, self.message, self.traceback_text, self.reason))


class SerializationError(CorepoolError):
    """A task's call or result could not cross the process boundary.

    ``stage`` says where it failed: ``"pickling the call"`` (in the parent),
    ``"unpickling the call"`` (in the worker), ``"pickling the result"`` (in the worker) or
    ``"unpickling the result"`` (in the parent).

    What corepool raises is made by ``_wire/combined_errors.py``: also an instance of the type that
    pickling raised (``pickle.PicklingError``, ``TypeError``, the user's own error...), with that
    error's ``args`` and attributes.  Its ``__cause__`` is the original error when it happened in
    the parent, the worker's traceback when it happened in a worker.
    """

    def __init__(self, stage: str, detail: str) -> None:
        super().__init__(f"failed while {stage}: {detail}")
        self.stage = stage
        self.detail = detail

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.stage, self.detail))


class TaskTimeoutError(CorepoolError, TimeoutError):
    """A task ran longer than its ``timeout``; its worker was stopped and replaced.

    Not to be confused with ``AsyncResult.get(timeout)`` / ``Future.result(timeout)``, which only
    stop *waiting* and leave the task running.
    """

    def __init__(self, task: str, timeout: float) -> None:
        super().__init__(f"{task} did not finish within its timeout of {timeout:g} s")
        self.task = task
        self.timeout = timeout

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.task, self.timeout))


class PoolClosedError(CorepoolError, ValueError):
    """Work was submitted to a pool that is closed or terminated (a ``ValueError``, as in
    ``multiprocessing``)."""


class SharedObjectClosedError(CorepoolError, ValueError):
    """An operation on a shared object that was closed, or whose owner removed it.

    A ``ValueError``, like an operation on a closed file.
    """


class CapacityError(CorepoolError):
    """A shared object is full: its ``max_bytes`` limit, or the memory file system, is used up.

    Nothing was written: the object is unchanged and still usable.
    """


class HolderDiedError(CorepoolError):
    """A process died while it held a corepool ``Lock``, ``RLock`` or ``Semaphore``.

    Raised in the one process whose ``acquire()`` found out, so that data the dead holder was
    changing is not trusted silently.  The lock itself is already repaired and released when
    this is raised: the next ``acquire()`` works normally.  ``pid`` is the dead holder's process
    id (``None`` if it died before it could record itself, i.e. before changing anything).
    """

    def __init__(self, what: str, pid: int | None) -> None:
        holder = f"process {pid}" if pid else "a process"
        super().__init__(
            f"{holder} died while holding {what}; the lock was recovered and released, but "
            "what it protected may be half-updated"
        )
        self.what = what
        self.pid = pid

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.what, self.pid))


class LockNotOwnedError(CorepoolError, AssertionError, RuntimeError):
    """A lock was released, or a condition waited on or notified, by a thread that does not hold it.

    Both an ``AssertionError`` (what ``multiprocessing`` raises) and a ``RuntimeError`` (what
    ``threading`` raises), so code written for either catches it.
    """


class SegmentGoneError(CorepoolError, FileNotFoundError):
    """A shared-memory segment was opened by name after it had been unlinked.

    That happens when every process holding it released it (or its owner ended it with
    ``unlink()``) before this handle was unpickled.
    """

    def __init__(self, name: str) -> None:
        super().__init__(
            f"shared-memory segment {name!r} no longer exists: every process that held it let "
            "it go (or it was unlinked) before this handle was opened"
        )
        self.name = name

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.name,))


def _signal_name(exitcode: int | None) -> str | None:
    if exitcode is None or exitcode >= 0:
        return None
    import signal

    try:
        return signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"


# multiprocessing's own TimeoutError, raised by AsyncResult.get(timeout) for drop-in compatibility.
WaitTimeoutError = multiprocessing.TimeoutError


# The classes that derive from concurrent.futures' own are defined in ``_executor_errors.py`` and
# load on first use (``corepool.errors.WorkerLostError``, ``from corepool.errors import ...``,
# unpickling): importing concurrent.futures, and with it ``logging``, costs ~20 ms, a third of
# corepool's whole import, and a pool whose workers never fail never needs them.
_EXECUTOR_ERRORS = frozenset(
    {"InitializerError", "TaskCancelledError", "WorkerLostError", "WorkerStartError"}
)


def __dir__() -> list[str]:
    # The deferred errors are listed before first use too, as they were when defined here.
    return sorted({*globals(), *_EXECUTOR_ERRORS})


def __getattr__(name: str) -> type[CorepoolError]:
    if name in _EXECUTOR_ERRORS:
        from corepool import _executor_errors

        kind: type[CorepoolError] = getattr(_executor_errors, name)
        globals()[name] = kind
        return kind
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
