"""Exceptions that cross the process boundary, and how they are rebuilt in the parent.

In the worker, ``capture`` turns an exception into a ``RemoteError``: its pickle when it has one,
and always its type name, message and formatted traceback.  In the parent, ``rebuild`` turns it
back into an exception of the original type with the worker's traceback as ``__cause__``; when
the exception cannot make the trip, the user gets ``RemoteTaskError`` with the same facts.
"""

from __future__ import annotations

import enum
import pickle
import traceback
from dataclasses import dataclass

from corepool.errors import RemoteTaskError, RemoteTraceback, SerializationError


class Stage(str, enum.Enum):
    """Where in a task's trip something failed."""

    PICKLE_CALL = "pickling the call"
    UNPICKLE_CALL = "unpickling the call"
    RUN = "running the task"
    PICKLE_RESULT = "pickling the result"
    UNPICKLE_RESULT = "unpickling the result"
    INITIALIZER = "running the initializer"


@dataclass(frozen=True)
class RemoteError:
    stage: Stage
    type_name: str
    message: str
    traceback: str
    blob: bytes | None
    """The pickled exception, or None when it could not be pickled (see ``unpicklable_reason``)."""
    unpicklable_reason: str = ""


def capture(error: BaseException, stage: Stage) -> RemoteError:
    """Describe ``error`` for the trip to the parent (runs in the worker)."""
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    type_name = f"{type(error).__module__}.{type(error).__qualname__}"
    if type(error).__module__ == "builtins":
        type_name = type(error).__qualname__
    message = _safe_str(error)
    try:
        blob: bytes | None = _dumps_exception(error)
        reason = ""
    except Exception as problem:  # noqa: BLE001 - any failure means "send the description"
        blob, reason = None, f"{type(problem).__name__}: {problem}"
    return RemoteError(stage, type_name, message, text, blob, reason)


def _dumps_exception(error: BaseException) -> bytes:
    # The traceback object cannot be pickled, and the exception's context and cause may hold
    # unpicklable things; the formatted text carries all of them, so send the bare exception.
    saved = error.__traceback__, error.__context__, error.__cause__
    try:
        error.__traceback__ = error.__context__ = error.__cause__ = None
        try:
            return pickle.dumps(error, pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001
            import cloudpickle

            return bytes(cloudpickle.dumps(error, pickle.HIGHEST_PROTOCOL))
    finally:
        error.__traceback__, error.__context__, error.__cause__ = saved


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the error
        return f"<{type(error).__name__} with an unprintable message>"


def rebuild(remote: RemoteError) -> BaseException:
    """The exception to raise in the parent for ``remote``."""
    cause = RemoteTraceback(remote.traceback)
    error = _load_exception(remote)
    error.__cause__ = cause
    if remote.stage in (Stage.RUN, Stage.INITIALIZER):
        return error
    wrapped = SerializationError(remote.stage.value, f"{remote.type_name}: {remote.message}")
    wrapped.__cause__ = error
    return wrapped


def _load_exception(remote: RemoteError) -> BaseException:
    if remote.blob is None:
        return RemoteTaskError(
            remote.type_name, remote.message, remote.traceback, remote.unpicklable_reason
        )
    try:
        error = pickle.loads(remote.blob)
    except Exception as problem:  # noqa: BLE001
        reason = f"unpickling it in the parent failed: {type(problem).__name__}: {problem}"
        return RemoteTaskError(remote.type_name, remote.message, remote.traceback, reason)
    if not isinstance(error, BaseException):
        return RemoteTaskError(
            remote.type_name, remote.message, remote.traceback, "it unpickled as a non-exception"
        )
    return error


def local_error(error: BaseException, stage: Stage) -> BaseException:
    """The exception for a serialization failure that happened in the parent itself."""
    if stage is Stage.RUN:
        return error
    wrapped = SerializationError(stage.value, f"{type(error).__name__}: {_safe_str(error)}")
    wrapped.__cause__ = error
    return wrapped
