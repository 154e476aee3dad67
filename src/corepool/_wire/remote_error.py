"""Exceptions on their way from a worker to the parent (the worker's half; ``rebuild`` is the
parent's).

``capture`` turns an exception into a ``RemoteError``: its pickle when it has one, and always its
type name, message and formatted traceback, so that nothing is lost when the exception itself
cannot make the trip.
"""

from __future__ import annotations

import pickle

from corepool._choice import Choice
from corepool._record import Record


class Stage(str, Choice):
    """Where in a task's trip something failed."""

    PICKLE_CALL = "pickling the call"
    UNPICKLE_CALL = "unpickling the call"
    RUN = "running the task"
    PICKLE_RESULT = "pickling the result"
    UNPICKLE_RESULT = "unpickling the result"
    INITIALIZER = "running the initializer"


class RemoteError(Record):
    stage: Stage
    type_name: str
    message: str
    traceback: str
    blob: bytes | None
    """The pickled exception, or None when it could not be pickled (see ``unpicklable_reason``)."""
    unpicklable_reason: str = ""
    value_repr: str = ""
    """For a result that could not be pickled: its ``repr`` (``MaybeEncodingError.value``)."""


# A result's repr is cut here: it travels only to be shown in an error message, and a huge
# list's repr would cost more than the task.
_VALUE_REPR_LIMIT = 2000
_NO_VALUE = object()


def capture(error: BaseException, stage: Stage, value: object = _NO_VALUE) -> RemoteError:
    """Describe ``error`` for the trip to the parent (runs in the worker).

    ``value`` is the result that could not be pickled, if that is what failed.
    """
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
    value_repr = _short_repr(value) if value is not _NO_VALUE else ""
    return RemoteError(stage, type_name, message, text, blob, reason, value_repr)


def _short_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not lose the error
        return f"<{type(value).__name__} object>"
    if len(text) > _VALUE_REPR_LIMIT:
        return text[: _VALUE_REPR_LIMIT - 3] + "..."
    return text


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
