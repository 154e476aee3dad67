"""The Dask backend's task: what runs on a Dask worker for one chunk (the worker's half of
``dask.py``), and the values that travel each way.

    parent (feeder thread)          Dask scheduler              Dask worker
    pack_items(chunk) ─ DaskCall ─▶ client.submit(run_chunk, call, pure=False) ─▶ run_chunk
    DaskOutcome ◀──── future ◀──────────────────────────────── DaskDone | DaskUnreadable

The user's function, items and results travel as bytes that corepool pickles itself, so that
Dask never sees a user keyword (``key``, ``retries``, ``priority``, ``workers`` stay the user's
data) and one value that cannot make the trip fails only its own task, as on one machine.

corepool's shared-memory objects (``Dict``, ``Lock``, ``SharedArray``, queues...) name memory of
the parent's host.  Unpickling one on a Dask worker of another host raises ``NotOnThisHostError``
(``_HostCheckingUnpickler``), which the task reports as its error: it is checked when their class
is looked up, so the check costs nothing per item.
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from corepool._record import Record
from corepool._wire.messages import CallStyle
from corepool._wire.remote_error import RemoteError, Stage, capture
from corepool._worker import progress
from corepool._worker.runner import run_items

PROTOCOL = pickle.HIGHEST_PROTOCOL

# Modules whose objects live in one host's shared memory (see the module docstring).
_SINGLE_HOST_MODULES = ("corepool.shared", "corepool.sync")

# How many functions a Dask worker process keeps unpickled, by (pool, job): one per call; 32
# bounds the cache when many calls with different functions run one after another.
_FUNCTION_CACHE_SIZE = 32


class NotOnThisHostError(RuntimeError):
    """A corepool shared-memory object reached a Dask worker on another host."""


class DaskCall(Record):
    """One chunk, as ``run_chunk`` receives it (Dask pickles it; it holds only bytes and ids)."""

    pool: str
    """The pool's token: keys the worker's caches."""
    job_id: int
    style: CallStyle
    items: bytes | tuple[bytes, ...]
    """One pickle of the item list, or one pickle per item (``repack_isolated``)."""
    host: str
    """The parent's host (``host_identity``): shared-memory objects need the same one."""
    initializer: bytes | None


class DaskDone(Record):
    results: bytes | tuple[bytes | None, ...]
    """One pickle of the results, or one per result when that failed."""
    errors: dict[int, RemoteError]
    seconds: float
    """Time spent running the items (chunk sizing)."""
    worker: str
    """The Dask worker's address (statistics)."""


class DaskUnreadable(Record):
    """The worker could not unpickle the item list as a whole (the parent resends it item by
    item), or the function (``function`` is True: the parent sends it by value)."""

    error: RemoteError
    function: bool


class DaskInitFailed(Record):
    """The pool's initializer raised on this Dask worker (it runs once per worker process)."""

    error: RemoteError


def host_identity() -> str:
    """This host: its name and boot id (two containers may share a name, never a boot id)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            boot = file.read().strip()
    except OSError:
        boot = ""
    return f"{socket.gethostname()}/{boot}"


_THIS_HOST = host_identity()
_functions: OrderedDict[tuple[str, int], Callable[..., Any]] = OrderedDict()
_initialized: set[str] = set()


def run_chunk(
    call: DaskCall, function: bytes, arrays: Mapping[int, Any]
) -> DaskDone | DaskUnreadable | DaskInitFailed:
    """Run one chunk on a Dask worker; every failure of a task is part of the answer.

    ``function`` (the pickled function) and ``arrays`` (large arrays the items name by number)
    are arguments of their own, not fields of ``call``: Dask replaces the scattered copies in
    them with their values on the worker, which it does only for an argument's plain containers.
    """
    same_host = call.host == _THIS_HOST
    try:
        fn = _function(call, function, arrays, same_host)
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        return DaskUnreadable(capture(error, Stage.UNPICKLE_CALL), True)
    errors: dict[int, RemoteError] = {}
    if call.initializer is not None and call.pool not in _initialized:
        try:
            initializer, initargs = _loads(call.initializer, arrays, same_host)
            initializer(*initargs)
        except BaseException as error:  # noqa: BLE001 - the pool cannot run tasks
            return DaskInitFailed(capture(error, Stage.INITIALIZER))
        _initialized.add(call.pool)
    if isinstance(call.items, bytes):
        try:
            items: list[Any] = _loads(call.items, arrays, same_host)
        except BaseException as error:  # noqa: BLE001 - the parent resends item by item
            return DaskUnreadable(capture(error, Stage.UNPICKLE_CALL), False)
        skip: set[int] = set()
    else:
        items, skip = _load_each(call.items, arrays, same_host, errors)
    started = time.perf_counter()
    row = progress.new_local_row()
    values, failures = run_items(fn, call.style, items, row, skip=skip)
    seconds = time.perf_counter() - started
    errors.update((index, capture(error, Stage.RUN)) for index, error in failures.items())
    return DaskDone(_pack_results(values, errors), errors, seconds, _worker_address())


def _function(
    call: DaskCall, function: bytes, arrays: Mapping[int, Any], same_host: bool
) -> Callable[..., Any]:
    key = (call.pool, call.job_id)
    fn = _functions.get(key)
    if fn is None:
        fn = _loads(function, arrays, same_host)
        _functions[key] = fn
        while len(_functions) > _FUNCTION_CACHE_SIZE:
            _functions.popitem(last=False)
    return fn


def _load_each(
    blobs: Sequence[bytes],
    arrays: Mapping[int, Any],
    same_host: bool,
    errors: dict[int, RemoteError],
) -> tuple[list[Any], set[int]]:
    items: list[Any] = []
    for index, blob in enumerate(blobs):
        try:
            items.append(_loads(blob, arrays, same_host))
        except BaseException as error:  # noqa: BLE001 - this item fails alone
            items.append(None)
            errors[index] = capture(error, Stage.UNPICKLE_CALL)
    return items, set(errors)


def _pack_results(values: list[Any], errors: dict[int, RemoteError]) -> bytes | tuple[Any, ...]:
    try:
        return pickle.dumps(values, PROTOCOL)
    except Exception:  # noqa: BLE001 - find which results cannot make the trip
        pass
    packed: list[bytes | None] = []
    for index, value in enumerate(values):
        try:
            packed.append(_dumps(value))
        except Exception as error:  # noqa: BLE001 - this result fails alone
            packed.append(None)
            errors[index] = capture(error, Stage.PICKLE_RESULT, value)
    return tuple(packed)


def _dumps(value: object) -> bytes:
    try:
        return pickle.dumps(value, PROTOCOL)
    except Exception:  # noqa: BLE001 - let cloudpickle try (a lambda among the results)
        import cloudpickle

        return bytes(cloudpickle.dumps(value, PROTOCOL))


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not on a Dask worker (the tests call it directly)
        return f"pid {os.getpid()}"


class _HostCheckingUnpickler(pickle.Unpickler):
    def __init__(self, blob: bytes, arrays: Mapping[int, Any], same_host: bool) -> None:
        super().__init__(io.BytesIO(blob))
        self._arrays = arrays
        self._same_host = same_host

    def find_class(self, module: str, name: str) -> Any:
        if not self._same_host and module.startswith(_SINGLE_HOST_MODULES):
            raise NotOnThisHostError(
                f"{module}.{name} lives in the shared memory of the host that created it; this "
                f"Dask worker runs on another host ({socket.gethostname()}). corepool's shared "
                "objects (Dict, Lock, SharedArray, queues, ...) work only with Dask workers on "
                "the same host: pass plain values, or use a Dask or manager object instead"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        return self._arrays[pid]


def _loads(blob: bytes, arrays: Mapping[int, Any], same_host: bool) -> Any:
    return _HostCheckingUnpickler(blob, arrays, same_host).load()
