"""``Value``, ``Array``, ``RawValue``, ``RawArray``: shared ctypes objects, passable anywhere.

    RawValue('i', 7) ──▶ Segment (sizeof(c_int) bytes) ◀── c_int view, class Shared_c_int
    Value('i', 7)    ──▶ Synchronized(raw, RLock())     (get_lock(), get_obj(), .value)

Each object is a ``ctypes`` instance laid over its own segment, of a subclass that pickles as
(segment, type): unpickling attaches the segment and lays the same type over it, so a task
that changes ``counter.value`` changes the parent's counter (with ``multiprocessing``, passing
a ``Value`` to a pool task raises "should only be shared between processes through
inheritance").  The synchronised wrappers guard access with a corepool ``RLock`` by default.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, SupportsIndex, TypeVar, overload

from corepool.shared.memory import Segment
from corepool.sync.locks import Lock, RLock

if TYPE_CHECKING:
    from _ctypes import _CData
    from ctypes import _SimpleCData

__all__ = [
    "Array",
    "RawArray",
    "RawValue",
    "Synchronized",
    "SynchronizedArray",
    "SynchronizedString",
    "Value",
]

TYPECODES: dict[str, Any] = {
    "c": ctypes.c_char, "u": ctypes.c_wchar, "b": ctypes.c_byte, "B": ctypes.c_ubyte,
    "h": ctypes.c_short, "H": ctypes.c_ushort, "i": ctypes.c_int, "I": ctypes.c_uint,
    "l": ctypes.c_long, "L": ctypes.c_ulong, "q": ctypes.c_longlong, "Q": ctypes.c_ulonglong,
    "f": ctypes.c_float, "d": ctypes.c_double,
}  # fmt: skip

T = TypeVar("T")
CT = TypeVar("CT", bound="_CData")


class LockLike(Protocol):
    """What ``lock=`` may be besides True/False: anything with acquire and release."""

    def acquire(self, *args: Any, **kwargs: Any) -> Any: ...
    def release(self) -> Any: ...


_subclasses: dict[Any, type] = {}
_raw_objects: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_wrappers: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_cache_lock = threading.Lock()


def _ctype(typecode_or_type: Any) -> Any:
    if isinstance(typecode_or_type, str):
        if typecode_or_type not in TYPECODES:
            raise TypeError(
                f"unknown typecode {typecode_or_type!r}; use one of {''.join(TYPECODES)} "
                "or a ctypes type"
            )
        return TYPECODES[typecode_or_type]
    if isinstance(typecode_or_type, type) and issubclass(typecode_or_type, ctypes._SimpleCData):
        return typecode_or_type
    if isinstance(typecode_or_type, type) and issubclass(
        typecode_or_type, (ctypes.Structure, ctypes.Union, ctypes.Array)
    ):
        return typecode_or_type
    raise TypeError(f"expected a typecode or a ctypes type, not {typecode_or_type!r}")


def _shared_class(base: Any) -> type:
    """A subclass of ``base`` whose instances pickle by segment."""
    with _cache_lock:
        made = _subclasses.get(base)
        if made is None:
            namespace: dict[str, Any] = {"__reduce__": _reduce_raw}
            if issubclass(base, ctypes._SimpleCData):
                namespace["__repr__"] = _simple_repr
            made = type(f"Shared_{base.__name__}", (base,), namespace)
            _subclasses[base] = made
        return made


def _lay_over(segment: Segment, spec: tuple[Any, int | None]) -> Any:
    """The ctypes object of ``spec`` (element type, array length or None) over ``segment``."""
    with _cache_lock:
        existing = _raw_objects.get(segment.name)
    if existing is not None:
        return existing
    element, length = spec
    base = element if length is None else element * length
    shared: Any = _shared_class(base)
    obj = shared.from_buffer(segment.buf)
    obj._corepool_segment = segment
    obj._corepool_spec = spec
    with _cache_lock:
        _raw_objects[segment.name] = obj
    return obj


def _simple_repr(obj: Any) -> str:
    return f"{type(obj).__mro__[1].__name__}({obj.value!r})"


def _reduce_raw(obj: Any) -> tuple[Any, ...]:
    return (_lay_over, (obj._corepool_segment, obj._corepool_spec))


def _new(spec: tuple[Any, int | None]) -> Any:
    element, length = spec
    base = element if length is None else element * length
    return _lay_over(Segment.create(max(1, ctypes.sizeof(base))), spec)


def RawValue(typecode_or_type: Any, *args: Any) -> Any:
    """A ctypes object in shared memory, initialised with ``args`` (no lock)."""
    obj = _new((_ctype(typecode_or_type), None))
    if args:
        obj.__init__(*args)
    return obj


def RawArray(typecode_or_type: Any, size_or_initializer: int | Sequence[Any]) -> Any:
    """A ctypes array in shared memory: zeroed of that length, or filled from the sequence."""
    element = _ctype(typecode_or_type)
    if isinstance(size_or_initializer, int):
        if size_or_initializer < 0:
            raise ValueError(f"array size must be >= 0, not {size_or_initializer}")
        return _new((element, size_or_initializer))
    values = list(size_or_initializer)
    obj = _new((element, len(values)))
    obj.__init__(*values)
    return obj


def _lock_for(lock: Any) -> Any:
    if lock is True or lock is None:
        return RLock()
    if not hasattr(lock, "acquire") or not hasattr(lock, "release"):
        raise AttributeError(f"{lock!r} has no method 'acquire'")
    return lock


@overload
def Value(typecode_or_type: type[CT], *args: Any, lock: Literal[False]) -> CT: ...
@overload
def Value(
    typecode_or_type: type[_SimpleCData[T]], *args: Any, lock: Literal[True] | LockLike = True
) -> Synchronized[T]: ...
@overload
def Value(
    typecode_or_type: str, *args: Any, lock: Literal[True] | LockLike = True
) -> Synchronized[Any]: ...
@overload
def Value(typecode_or_type: str | type[Any], *args: Any, lock: bool | LockLike = True) -> Any: ...


def Value(typecode_or_type: Any, *args: Any, lock: Any = True) -> Any:
    """A shared ctypes value, guarded by ``lock`` (a new corepool ``RLock`` by default;
    ``lock=False`` returns the raw object)."""
    obj = RawValue(typecode_or_type, *args)
    if lock is False:
        return obj
    return Synchronized._wrap(obj, _lock_for(lock))


@overload
def Array(
    typecode_or_type: type[CT], size_or_initializer: int | Sequence[Any], *, lock: Literal[False]
) -> ctypes.Array[CT]: ...
@overload
def Array(
    typecode_or_type: type[ctypes.c_char],
    size_or_initializer: int | Sequence[Any],
    *,
    lock: Literal[True] | LockLike = True,
) -> SynchronizedString: ...
@overload
def Array(
    typecode_or_type: type[_SimpleCData[T]],
    size_or_initializer: int | Sequence[Any],
    *,
    lock: Literal[True] | LockLike = True,
) -> SynchronizedArray[T]: ...
@overload
def Array(
    typecode_or_type: str,
    size_or_initializer: int | Sequence[Any],
    *,
    lock: Literal[True] | LockLike = True,
) -> SynchronizedArray[Any]: ...
@overload
def Array(
    typecode_or_type: str | type[Any],
    size_or_initializer: int | Sequence[Any],
    *,
    lock: bool | LockLike = True,
) -> Any: ...


def Array(
    typecode_or_type: Any, size_or_initializer: int | Sequence[Any], *, lock: Any = True
) -> Any:
    """A shared ctypes array, guarded like ``Value``; of ``'c'``: a string (.value, .raw)."""
    obj = RawArray(typecode_or_type, size_or_initializer)
    if lock is False:
        return obj
    cls = SynchronizedString if obj._corepool_spec[0] is ctypes.c_char else SynchronizedArray
    return cls._wrap(obj, _lock_for(lock))


class Synchronized(Generic[T]):
    """A shared ctypes object and the lock that guards it (``multiprocessing``'s wrapper);
    ``T`` is the type of its ``value`` (``Synchronized[int]`` for ``Value('i', 0)``)."""

    def __init__(self, obj: Any, lock: Lock | RLock | Any) -> None:
        self._obj = obj
        self._lock = lock
        self.acquire = lock.acquire
        self.release = lock.release

    @classmethod
    def _wrap(cls, obj: Any, lock: Any) -> Any:
        name = obj._corepool_segment.name
        with _cache_lock:
            existing = _wrappers.get(name)
        if existing is not None and existing._lock is lock:
            return existing
        made = cls(obj, lock)
        with _cache_lock:
            _wrappers[name] = made
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_wrapper, (type(self), self._obj, self._lock))

    def get_obj(self) -> Any:
        return self._obj

    def get_lock(self) -> Any:
        return self._lock

    def __enter__(self) -> bool:
        return bool(self._lock.__enter__())

    def __exit__(self, *exc_info: object) -> None:
        self._lock.__exit__(*exc_info)

    @property
    def value(self) -> T:
        with self._lock:
            value: T = self._obj.value
            return value

    @value.setter
    def value(self, value: T) -> None:
        with self._lock:
            self._obj.value = value

    def __repr__(self) -> str:
        return f"<corepool.{type(self).__name__} wrapper for {self._obj!r}>"


class SynchronizedArray(Synchronized[T]):
    """A shared ctypes array and its lock: indexing and slicing take the lock."""

    def __len__(self) -> int:
        return len(self._obj)

    @overload
    def __getitem__(self, index: SupportsIndex) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> T | list[T]:
        with self._lock:
            item: T | list[T] = self._obj[index]
            return item

    @overload
    def __setitem__(self, index: SupportsIndex, value: T) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[T]) -> None: ...

    def __setitem__(self, index: SupportsIndex | slice, value: Any) -> None:
        with self._lock:
            self._obj[index] = value


class SynchronizedString(SynchronizedArray[bytes]):
    """A shared ``c_char`` array and its lock: ``.value`` (up to the first NUL) and ``.raw``."""

    @property
    def raw(self) -> bytes:
        with self._lock:
            return bytes(self._obj.raw)

    @raw.setter
    def raw(self, value: bytes) -> None:
        with self._lock:
            self._obj.raw = value


def _rebuild_wrapper(cls: type[Synchronized[Any]], obj: Any, lock: Any) -> Synchronized[Any]:
    return cls._wrap(obj, lock)  # type: ignore[no-any-return]
