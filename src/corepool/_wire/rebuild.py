"""Turning what failed in a worker, or in the parent's own pickling, into the exception the
caller gets (the parent's half of ``remote_error``).

``rebuild`` gives back an exception of the original type with the worker's traceback as
``__cause__``; when the exception cannot make the trip, the user gets ``RemoteTaskError`` with the
same facts.  Failures while moving values are wrapped in ``SerializationError`` naming the stage.
"""

from __future__ import annotations

import pickle

from corepool._wire.remote_error import RemoteError, Stage, safe_str
from corepool.errors import RemoteTaskError, RemoteTraceback, SerializationError


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
    wrapped = SerializationError(stage.value, f"{type(error).__name__}: {safe_str(error)}")
    wrapped.__cause__ = error
    return wrapped
