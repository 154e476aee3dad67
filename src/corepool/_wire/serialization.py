"""Pickling for the trip between parent and worker.

Plain ``pickle`` where it works, because it is fast; ``cloudpickle`` where it does not (lambdas,
closures, functions defined in ``__main__`` of a session the workers cannot import).

Items travel as ``PackedItems``: optimistically the whole list in one pickle, and item by item when
that is not safe, so that one value that cannot make the trip fails only its own task:

* calls: the parent pickles the whole chunk; if the worker cannot unpickle it as a whole it says
  so (``CallUnreadable``) and the parent resends the items one by one;
* results: the worker puts atoms (numbers, strings, small tuples of them) in the bulk pickle,
  which cannot fail to unpickle, and pickles anything else on its own.

A long list of only ints (each within 64 bits) or only floats, the commonest chunk of items and
of results, travels as an ``array.array`` of machine numbers: made in ~7 ns a number (the C
extension) where pickle takes ~45, and read back in ~24 where unpickling takes ~35-50.

Call items and results that are not atoms go through ``shared.array_transport``: buffers of 1 MiB
or more (large NumPy arrays) travel through shared memory instead of the channel (pickle protocol
5, out-of-band); that module says who owns and removes each segment.
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from corepool._wire.messages import PackedItems
from corepool.shared import array_transport

if TYPE_CHECKING:  # rebuild imports corepool.errors: the parent's business, not a worker's
    from corepool._backends.base import Flavour
    from corepool._wire.remote_error import RemoteError

PROTOCOL = pickle.HIGHEST_PROTOCOL

# Values of these exact types can always be unpickled, so they may share one pickle.
_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})
_SMALL_CONTAINER = 8


def _all_atoms_in_python(values: list[object]) -> bool:
    return _ATOMS.issuperset(map(type, values))


def _machine_numbers_in_python(values: list[object]) -> tuple[str, bytes] | None:
    """Without the C extension lists keep their pickle: checking each type in Python and
    converting costs more (~50 ns a number) than the array saves."""
    return None


try:  # the C twin: one type test per value instead of ~16 ns (optional: needs a compiler)
    from corepool._worker._fastpath import all_atoms as _all_atoms
except ImportError:  # pragma: no cover - exercised where the extension was not built
    _all_atoms = _all_atoms_in_python
try:  # apart: an extension built before this twin existed still serves ``all_atoms``
    from corepool._worker._fastpath import machine_numbers as _machine_numbers
except ImportError:  # pragma: no cover - exercised where the extension was not built
    _machine_numbers = _machine_numbers_in_python

# Below this many numbers a list's own pickle is as quick both ways (the array's reconstructor
# costs a few microseconds; measured crossing at ~100-200 ints).
NUMBERS_AT_LEAST = 256


def dumps_list(values: list[object]) -> bytes:
    """A list's pickle: as machine numbers when it is long and holds only ints or only floats."""
    return _dumps_numbers(values) or pickle.dumps(values, PROTOCOL)


def _dumps_numbers(values: list[object]) -> bytes | None:
    """The pickle of ``values`` as an ``array`` of machine numbers, or None when it is short or
    holds anything else (the check stops at the first value of another type)."""
    if len(values) < NUMBERS_AT_LEAST:
        return None
    numbers = _machine_numbers(values)
    if numbers is None:
        return None
    typecode, raw = numbers
    packed = array(typecode)
    packed.frombytes(raw)
    return pickle.dumps(packed, PROTOCOL)


def as_list(loaded: Any) -> Any:
    """What ``dumps_list`` packed, as the list it was (anything else as it is)."""
    return loaded.tolist() if type(loaded) is array else loaded


def dumps_telling(value: object, *, by_value: bool = False) -> tuple[bytes, bool]:
    """Pickle ``value``: plain pickle first unless ``by_value``, cloudpickle as the fallback.

    Also returns whether cloudpickle made it (so that it carries a function's code).
    """
    if not by_value:
        try:
            return pickle.dumps(value, PROTOCOL), False
        except Exception:  # noqa: BLE001 - any failure: let cloudpickle try (and report)
            pass
    import cloudpickle

    return bytes(cloudpickle.dumps(value, PROTOCOL)), True


def dumps(value: object, *, by_value: bool = False) -> bytes:
    return dumps_telling(value, by_value=by_value)[0]


def dumps_for_new_process(value: object, *, by_value: bool = False) -> bytes:
    """``dumps`` with ``multiprocessing``'s reducers, for a new process's arguments.

    Called while ``multiprocessing`` pickles a process it starts (see ``_wire.initializer``):
    its locks, queues and connections then pickle as the standard library sends them to a
    child, their descriptors passed along with the process.
    """
    from multiprocessing.reduction import ForkingPickler

    if not by_value:
        try:
            return bytes(ForkingPickler.dumps(value, PROTOCOL))
        except Exception:  # noqa: BLE001 - any failure: let cloudpickle try (and report)
            pass
    import io

    import cloudpickle

    buffer = io.BytesIO()
    pickler = cloudpickle.Pickler(buffer, PROTOCOL)
    pickler.dispatch_table = {**pickler.dispatch_table, **ForkingPickler._extra_reducers}  # type: ignore[attr-defined]
    pickler.dump(value)
    return buffer.getvalue()


def function_travels_by_value(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` must be pickled by value rather than by reference.

    A function from ``__main__`` is found by name in a worker only when the worker's ``__main__``
    has it: a spawned or forkserver worker re-imports the main script, a forked one holds a copy
    of it as it was at the fork.  Both have a function the script defines once at its top level
    (``main_script``); anything else from ``__main__`` travels by value.  Should a worker still
    lack a function sent by reference (defined after the pool forked), it says so and the
    parent sends it again by value (``FunctionUnreadable``).
    """
    if getattr(fn, "__module__", None) != "__main__":
        return False
    from corepool._wire import main_script  # parses with ``ast``: the parent's business only

    return not main_script.defined_once_at_top_level(getattr(fn, "__qualname__", ""))


def dumps_function(fn: Callable[..., Any]) -> tuple[bytes, bool]:
    """The function's pickle, and whether it carries the function's code."""
    return dumps_telling(fn, by_value=function_travels_by_value(fn))


def loads(blob: bytes | bytearray | memoryview) -> Any:
    return pickle.loads(blob)


# ---------------------------------------------------------------------------------- calls


def pack_call_items(items: Sequence[object], waiting_caller: int | None = None) -> PackedItems:
    """The whole chunk in one pickle; raises when it cannot be pickled as a whole.

    A slice of a ``range`` stays a ``range``: a few bytes instead of a list of its numbers.
    ``waiting_caller``: the thread that waits for the call (``array_transport.dumps_arguments``).
    """
    whole = items if isinstance(items, (list, tuple, range)) else list(items)
    numbers = _dumps_numbers(whole) if type(whole) is list else None
    if numbers is not None:  # nothing for shared memory in numbers
        return PackedItems(len(items), numbers)
    return PackedItems(len(items), array_transport.dumps_arguments(whole, waiting_caller))


def pack_call_items_isolated(
    items: Sequence[object],
) -> tuple[PackedItems, dict[int, BaseException]]:
    """Each item in its own pickle (by value, so ``__main__`` classes travel too).

    Returns the packed items and the errors of those that could not be pickled; those are left
    out, and the worker reports them as not sent.
    """
    isolated: dict[int, bytes] = {}
    failures: dict[int, BaseException] = {}
    for index, item in enumerate(items):
        try:
            isolated[index] = array_transport.dumps_arguments(item, by_value=True)
        except Exception as error:  # noqa: BLE001 - the error belongs to this item only
            failures[index] = error
    return PackedItems(len(items), None, isolated), failures


def unpack_call_items(packed: PackedItems) -> tuple[list[object], dict[int, RemoteError]]:
    """Items for the worker to run, and errors for those it could not unpickle.

    Raises when a bulk pickle cannot be unpickled (the parent then resends item by item).
    """
    if packed.bulk is not None:
        items: list[object] = as_list(array_transport.loads(packed.bulk))  # or a tuple or range
        return items, {}
    from corepool._wire.remote_error import Stage, capture  # loaded in a worker already

    values: list[object] = [None] * packed.size
    errors: dict[int, RemoteError] = {}
    for index in range(packed.size):
        blob = (packed.isolated or {}).get(index)
        if blob is None:
            errors[index] = capture(_NotSent(), Stage.PICKLE_CALL)
            continue
        try:
            values[index] = array_transport.loads(blob)
        except BaseException as error:  # noqa: BLE001 - reported for this item
            errors[index] = capture(error, Stage.UNPICKLE_CALL)
    return values, errors


class _NotSent(Exception):
    def __init__(self) -> None:
        super().__init__("the parent could not pickle this item, so it was not sent")


# -------------------------------------------------------------------------------- results


def _travels_in_bulk(value: object) -> bool:
    kind = type(value)
    if kind in _ATOMS:
        return True
    if kind is tuple or kind is list:
        return len(value) <= _SMALL_CONTAINER and all(  # type: ignore[arg-type]
            type(element) in _ATOMS
            for element in value  # type: ignore[attr-defined]
        )
    return False


def pack_results(
    results: list[object],
    failed: Sequence[int] | set[int],
    on_item: Callable[[int], object] | None = None,
) -> tuple[PackedItems, dict[int, RemoteError]]:
    """Pack a chunk's results (positions in ``failed`` hold no result).

    Returns the packed results and errors for results that could not be pickled.  ``on_item`` is
    told the index of each result about to be pickled on its own (the worker's progress board).
    """
    if not failed and _all_atoms(results):
        return PackedItems(len(results), dumps_list(results)), {}
    bulk: list[object] = [None] * len(results)
    isolated: dict[int, bytes] = {}
    errors: dict[int, RemoteError] = {}
    for index, value in enumerate(results):
        if index in failed:
            continue
        if _travels_in_bulk(value):
            bulk[index] = value
            continue
        if on_item is not None:
            on_item(index)
        try:
            isolated[index] = array_transport.dumps_result(value)
        except BaseException as error:  # noqa: BLE001 - reported for this item
            from corepool._wire.remote_error import Stage, capture  # loaded in a worker already

            errors[index] = capture(error, Stage.PICKLE_RESULT, value)
    return PackedItems(len(results), pickle.dumps(bulk, PROTOCOL), isolated), errors


def message_sent() -> None:
    """A worker wrote a message to its channel (large results in it are handed over now)."""
    array_transport.message_sent()


def unpack_results(
    packed: PackedItems, flavour: Flavour | None = None
) -> tuple[list[object], dict[int, BaseException]]:
    """Results in the parent, and the errors of those that could not be unpickled."""
    values: list[object] = as_list(pickle.loads(packed.bulk)) if packed.bulk is not None else []
    if len(values) < packed.size:
        values.extend([None] * (packed.size - len(values)))
    errors: dict[int, BaseException] = {}
    for index, blob in (packed.isolated or {}).items():
        try:
            values[index] = array_transport.loads(blob)
        except BaseException as error:  # noqa: BLE001 - reported for this item
            errors[index] = _unpickling_failed(error, flavour)
    return values, errors


def _unpickling_failed(error: BaseException, flavour: Flavour | None) -> BaseException:
    # The parent's error path, loaded when it is first taken.
    from corepool._backends.base import Flavour
    from corepool._wire.rebuild import local_error
    from corepool._wire.remote_error import Stage

    return local_error(error, Stage.UNPICKLE_RESULT, flavour or Flavour.MULTIPROCESSING)
