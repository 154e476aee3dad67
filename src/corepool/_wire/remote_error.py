"""Exceptions on their way from a worker to the parent (the worker's half; ``rebuild`` is the
parent's).

``capture`` turns an exception into a ``RemoteError``: its pickle when it has one, and always its
type name, message and formatted traceback, so that nothing is lost when the exception itself
cannot make the trip.
"""

from __future__ import annotations

import enum
import pickle
from typing import NamedTuple


class Stage(str, enum.Enum):
    """Where in a task's trip something failed."""

    PICKLE_CALL = "pickling the call"
    UNPICKLE_CALL = "unpickling the call"
    RUN = "running the task"
    PICKLE_RESULT = "pickling the result"
    UNPICKLE_RESULT = "unpickling the result"
    INITIALIZER = "running the initializer"


class RemoteError(NamedTuple):
    stage: Stage
    type_name: str
    message: str
    traceback: str
    blob: bytes | None
    """The pickled exception, or None when it could not be pickled (see ``unpicklable_reason``)."""
    unpicklable_reason: str = ""


def capture(error: BaseException, stage: Stage) -> RemoteError:
    """Describe ``error`` for the trip to the parent (runs in the worker)."""
    import traceback  # only when a task fails: ~3 ms of every worker's start-up otherwise

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    type_name = f"{type(error).__module__}.{type(error).__qualname__}"
    if type(error).__module__ == "builtins":
        type_name = type(error).__qualname__
    message = safe_str(error)
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


def safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the error
        return f"<{type(error).__name__} with an unprintable message>"
