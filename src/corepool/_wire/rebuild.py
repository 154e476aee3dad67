"""Turning what failed in a worker, or in the parent's own pickling, into the exception the
caller gets (the parent's half of ``remote_error``).

``rebuild`` gives back an exception of the original type with the worker's traceback as
``__cause__``; when the exception cannot make the trip, the user gets ``RemoteTaskError`` with the
same facts.  Failures while moving values become ``SerializationError``s that are also of the
original error's type (``combined_errors.serialization_error``).

What the standard library raises differs between its two front doors, and a program catches
what its front door raised, so the rebuilt error follows the ``Flavour`` of the pool:

    stage                  MULTIPROCESSING (Pool)          CONCURRENT_FUTURES (executors)
    running the task       cause: mp.pool.RemoteTraceback  cause: cf.process._RemoteTraceback
    pickling the result    + MaybeEncodingError, its text  the pickling error itself
    unpickling the call    the unpickling error            + BrokenProcessPool
    unpickling the result  the unpickling error            + BrokenProcessPool
    pickling the call      the pickling error              the pickling error
"""

from __future__ import annotations

import pickle

from corepool._backends.base import Flavour
from corepool._wire.remote_error import RemoteError, Stage, safe_str
from corepool.errors import RemoteTaskError


def rebuild(remote: RemoteError, flavour: Flavour = Flavour.MULTIPROCESSING) -> BaseException:
    """The exception to raise in the parent for ``remote``."""
    cause = remote_traceback(remote.traceback, flavour)
    error = _load_exception(remote)
    if remote.stage in (Stage.RUN, Stage.INITIALIZER):
        error.__cause__ = cause
        return error
    wrapped = _serialization_error(error, remote.stage, flavour, remote.value_repr)
    wrapped.__cause__ = cause
    return wrapped


def local_error(
    error: BaseException, stage: Stage, flavour: Flavour = Flavour.MULTIPROCESSING
) -> BaseException:
    """The exception for a serialization failure that happened in the parent itself.

    Its ``__cause__`` is ``error``, which keeps the parent's own traceback.
    """
    if stage is Stage.RUN:
        return error
    wrapped = _serialization_error(error, stage, flavour)
    wrapped.__cause__ = error
    return wrapped


def remote_traceback(text: str, flavour: Flavour) -> BaseException:
    """The standard library's own remote-traceback exception, with its text format."""
    framed = f'\n"""\n{text}"""'
    # Looked up as attributes: typeshed does not list multiprocessing.pool.RemoteTraceback.
    kind: type[BaseException]
    if flavour is Flavour.CONCURRENT_FUTURES:
        import concurrent.futures.process

        kind = concurrent.futures.process._RemoteTraceback
    else:
        import multiprocessing.pool

        kind = multiprocessing.pool.RemoteTraceback  # type: ignore[attr-defined]
    return kind(framed)


def _serialization_error(
    error: BaseException, stage: Stage, flavour: Flavour, value_repr: str = ""
) -> BaseException:
    # Imported here: only a value that cannot make the trip needs it (~0.3 ms of a first pool).
    from corepool._wire.combined_errors import serialization_error

    detail = f"{_type_name(error)}: {safe_str(error)}"
    if isinstance(error, RemoteTaskError):  # the error itself could not travel: it has the facts
        detail = f"{error.type_name}: {error.message}"
    if flavour is Flavour.CONCURRENT_FUTURES:
        if stage in (Stage.UNPICKLE_CALL, Stage.UNPICKLE_RESULT):
            from concurrent.futures.process import BrokenProcessPool

            return serialization_error(error, stage.value, detail, also=(BrokenProcessPool,))
        return serialization_error(error, stage.value, detail)
    if stage is Stage.PICKLE_RESULT:
        import multiprocessing.pool

        encoding_error: type[BaseException] = multiprocessing.pool.MaybeEncodingError  # type: ignore[attr-defined]
        # The standard text and attributes (``exc``, ``value``: reprs), as Pool's worker sends.
        text = f"Error sending result: '{value_repr}'. Reason: '{_safe_repr(error)}'"
        wrapped = serialization_error(error, stage.value, detail, also=(encoding_error,), text=text)
        wrapped.exc, wrapped.value = _safe_repr(error), value_repr  # type: ignore[attr-defined]
        return wrapped
    return serialization_error(error, stage.value, detail)


def _type_name(error: BaseException) -> str:
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else kind.__name__


def _safe_repr(error: BaseException) -> str:
    try:
        return repr(error)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not lose the error
        return f"<{type(error).__name__}>"


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
