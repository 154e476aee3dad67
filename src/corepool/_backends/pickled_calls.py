"""What a worker in another interpreter needs of a call, prepared in the parent: pickles.

Used by every backend whose workers do not share the parent's objects (processes, and the
subinterpreters of ``interpreters``; ``auto`` prepares the same while it probes), so that a
chunk prepared for one of them can run on any: the job's function as a ``FunctionPayload`` in
``job.payload``, the chunk's items as ``PackedItems`` in ``chunk.payload``, and what comes back
unpacked by ``PackedOutcome`` on the results thread.
"""

from __future__ import annotations

import functools
import itertools
import sys
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corepool._backends.base import ChunkView, Flavour, JobView, Outcome
from corepool._record import Record
from corepool._wire import serialization
from corepool._wire.messages import Done, PackedItems

if TYPE_CHECKING:
    from corepool._wire.main_reference import MainReference


class FunctionPayload(Record):
    """A job's function as this backend keeps it (``job.payload``)."""

    blob: bytes
    by_value: bool
    """Whether ``blob`` carries the function's code (else a reference to its module)."""
    token: int
    """What a worker process that was sent ``blob`` once knows it by (``FunctionDef``,
    ``FunctionRef``): jobs that share this payload (``PackedFunctions``) share the worker's copy
    of the function.  Subinterpreter workers still know a function by its job's id: their backend
    packs every job's function afresh, so a shared token would gain them nothing."""


_tokens = itertools.count(1)


def function_payload(blob: bytes, by_value: bool) -> FunctionPayload:
    """A payload with a token of its own."""
    return FunctionPayload(blob, by_value, next(_tokens))


def pack_function(job: JobView, *, by_value: bool = False, workers_hold_it: bool = False) -> None:
    """Pickle a job's function for worker processes (by reference where a worker can find it).

    ``workers_hold_it``: the backend's workers have this function of ``__main__`` under its name
    (a copy of ``__main__`` holding it): it goes by name, and a worker that turns out to have
    another function by that name refuses it (``_wire.main_reference``)."""
    if by_value:
        job.payload = function_payload(serialization.dumps(job.fn, by_value=True), True)
    elif workers_hold_it and isinstance(job.fn, types.FunctionType):
        blob = serialization.dumps(_main_reference_type()(job.fn))
        job.payload = function_payload(blob, False)
    else:
        job.payload = function_payload(*serialization.dumps_function(job.fn))


class PackedFunctions:
    """The functions a backend packed by reference, kept for the next job of the same function.

    A loop of ``apply_async`` or ``submit`` is a job per task.  Each job packed its function
    afresh (~20 µs of the parent's ~150 µs per task, with the fingerprint of a ``__main__``
    function, ``_wire.main_reference``), and with a token of its own each worker unpickled it
    afresh too.  A plain function that goes by reference pickles to the same bytes for as long as
    its module holds it under its name and its code is the same, which each use checks (~1 µs):
    the jobs share one payload and its token.  A function that goes by value carries its globals
    and closure as they are at that moment, so it is packed for every job, as before.
    """

    def __init__(self) -> None:
        self._known: weakref.WeakKeyDictionary[
            Callable[..., Any], tuple[types.CodeType, FunctionPayload]
        ] = weakref.WeakKeyDictionary()

    def pack(
        self, job: JobView, *, by_value: bool, workers_hold_it: Callable[[object], bool]
    ) -> None:
        """``pack_function`` for ``job``, or the payload of an earlier job of its function."""
        fn = job.fn
        if by_value or type(fn) is not types.FunctionType:
            pack_function(job, by_value=by_value, workers_hold_it=workers_hold_it(fn))
            return
        known = self._known.get(fn)
        if known is not None and known[0] is fn.__code__ and _still_named(fn):
            job.payload = known[1]
            return
        pack_function(job, workers_hold_it=workers_hold_it(fn))
        payload = job.payload
        if isinstance(payload, FunctionPayload) and not payload.by_value and _still_named(fn):
            self._known[fn] = (fn.__code__, payload)


def _still_named(fn: types.FunctionType) -> bool:
    """Whether ``fn``'s module has ``fn`` under its qualified name: what pickling it by
    reference checked (pickle refuses a function its module has rebound)."""
    found: object = sys.modules.get(fn.__module__)
    for part in fn.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is fn


@functools.cache
def _main_reference_type() -> type[MainReference]:
    """``_wire.main_reference.MainReference``, loaded at the first function sent by name, once:
    an import statement run per call costs ~1.5 µs, and an ``apply_async`` loop packs a function
    per task."""
    from corepool._wire.main_reference import MainReference

    return MainReference


def pack_items(chunk: ChunkView) -> None:
    """Pickle a chunk's items as one; items that cannot be pickled fail alone."""
    try:
        chunk.payload = serialization.pack_call_items(chunk.items, chunk.job.waiting_caller)
    except Exception:  # noqa: BLE001 - find which items cannot be pickled
        pack_items_isolated(chunk)


def packed_size(payload: object) -> int:
    """Bytes of a chunk's pickles (0 for anything else)."""
    if not isinstance(payload, PackedItems):
        return 0
    isolated = sum(map(len, payload.isolated.values())) if payload.isolated else 0
    return len(payload.bulk or b"") + isolated


def pack_items_isolated(chunk: ChunkView) -> None:
    """Pickle a chunk's items one by one, recording those that cannot be pickled."""
    packed, failures = serialization.pack_call_items_isolated(chunk.items)
    chunk.payload = packed
    if failures:
        from corepool._wire.rebuild import local_error  # the parent's error path
        from corepool._wire.remote_error import Stage

        for index, error in failures.items():
            chunk.parent_errors[index] = local_error(error, Stage.PICKLE_CALL)


# Bytes of a bulk pickle of atoms that unpickles in microseconds (~2,000 small ints: ~20 µs).
_QUICK_BULK_BYTES = 16 * 1024


class PackedOutcome(Outcome):
    def __init__(self, done: Done, flavour: Flavour) -> None:
        self._done = done
        self._flavour = flavour
        results = done.results
        # The bulk pickle holds only atoms (serialization.pack_results), which run no code when
        # unpickled; isolated results and errors may run the user's (__setstate__, __reduce__).
        self.quick = (
            not done.errors
            and not results.isolated
            and len(results.bulk or b"") <= _QUICK_BULK_BYTES
        )

    def unpack(self) -> tuple[list[Any], dict[int, BaseException]]:
        values, errors = serialization.unpack_results(self._done.results, self._flavour)
        if self._done.errors:
            from corepool._wire.rebuild import rebuild  # a task's error: loaded when one comes

            errors.update(
                (index, rebuild(remote, self._flavour))
                for index, remote in self._done.errors.items()
            )
        return values, errors
