"""``corepool.SharedArray``: a NumPy array in shared memory that every process maps, zero-copy.

    creating process                           any other process (pool task, Process, ...)
    SharedArray((n, m), float)                 unpickles the handle: (segment name, shape, dtype)
      memory.Segment ──────────────── mmap ─── same pages, mapped shared and writable
      .array (ndarray view)                    .array (ndarray view): writes are seen by all

The handle pickles by name: passing it to a task moves a few dozen bytes, never the data.  The
memory is a ``memory.Segment``, so its lifecycle is the segment's (see ``memory``):

* **creates**: the constructor (or ``from_array``); that process is the *owner*;
* **closes**: every process, with ``close()``, or when its handle is garbage collected, or when it
  exits or dies; a pool worker keeps its last ``_RECENT_ATTACHMENTS`` arrays open past their
  task, until they are evicted, unlinked, or the worker exits;
* **unlinks**: the owner's ``close()`` at once (no process can attach it any more, mapped ones
  keep their arrays); otherwise the janitor, once no process holds it and no pickled handle of it
  is in flight, so an array returned from a task outlives the worker that made it;
* **after a crash** (even SIGKILL) the dead process's hold ends with it; nothing is left once
  the last holder is gone.

Importing this module imports NumPy.
"""

from __future__ import annotations

import errno
import weakref
from collections import OrderedDict
from typing import Any

try:
    import numpy as np
    from numpy.lib.mixins import NDArrayOperatorsMixin
except ImportError as error:  # pragma: no cover - exercised only without numpy
    raise ImportError("corepool.SharedArray needs NumPy: pip install 'corepool[numpy]'") from error

from corepool.errors import CapacityError, SegmentGoneError, SharedObjectClosedError
from corepool.shared import memory
from corepool.shared.memory import Segment
from corepool.worker_context import current_worker

__all__ = ["SharedArray"]

_attached: weakref.WeakValueDictionary[str, SharedArray] = weakref.WeakValueDictionary()
_recent: OrderedDict[str, SharedArray] = OrderedDict()
_RECENT_ATTACHMENTS = 4
"""Attached (not owned) arrays a pool worker keeps mapped after their last use, so a worker that
gets the same SharedArray task after task maps it once (bench_numpy: 16 tasks in 0.04 s; mapping
and faulting in 256 MB again costs ~25 ms a task) instead of every time.  Entries whose segment
was unlinked by its owner are dropped at the next attach.  Only in pool workers: elsewhere a
handle the program dropped must let its segment go."""


class SharedArray(NDArrayOperatorsMixin):
    """An array of ``shape`` and ``dtype`` in shared memory, zero-filled; use it as an ndarray.

    ``np.asarray(shared)`` and ``shared.array`` are views of the shared memory; indexing,
    assignment, arithmetic and ndarray methods work on it directly.  Pass it to pool tasks or
    processes: they map the same memory, so their writes are seen everywhere (synchronise
    writers yourself, e.g. each task writes its own rows).  ``SharedArray.from_array(a)`` copies
    an existing array in once.
    """

    def __init__(
        self, shape: int | tuple[int, ...], dtype: Any = float, *, order: str = "C"
    ) -> None:
        sizes = (shape,) if isinstance(shape, (int, np.integer)) else shape
        self._shape = tuple(int(size) for size in sizes)
        self._dtype = np.dtype(dtype)
        if order not in ("C", "F"):
            raise ValueError(f"order must be 'C' or 'F', not {order!r}")
        if self._dtype.hasobject:
            raise TypeError(f"a SharedArray cannot hold Python objects (dtype {self._dtype})")
        if any(size < 0 for size in self._shape):
            raise ValueError(f"negative dimensions are not allowed: {self._shape}")
        self._order = order
        nbytes = int(np.prod(self._shape, dtype=np.int64)) * self._dtype.itemsize
        try:
            # Reserved: a full /dev/shm is an error now, not a SIGBUS at the first write.
            segment = Segment.create(max(nbytes, 1), reserve=True)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            raise CapacityError(
                f"no room in the memory file system for a {nbytes}-byte SharedArray "
                f"({error.strerror}); free memory there or make it larger"
            ) from None
        self._segment = segment
        self._array: np.ndarray[Any, Any] | None = self._view(segment)
        _attached[segment.name] = self

    @classmethod
    def from_array(cls, array: Any) -> SharedArray:
        """A new SharedArray holding a copy of ``array`` (same shape and dtype)."""
        source = np.asarray(array)
        order = "F" if source.flags.f_contiguous and not source.flags.c_contiguous else "C"
        shared = cls(source.shape, source.dtype, order=order)
        np.copyto(shared.array, source)
        return shared

    @classmethod
    def _attach(
        cls, name: str, janitor: str, shape: tuple[int, ...], dtype: Any, order: str
    ) -> SharedArray:
        try:
            segment = Segment.receive(name, janitor)  # counts the pickle as arrived
        except SegmentGoneError:
            raise SharedObjectClosedError(
                f"the corepool.SharedArray {name} no longer exists: its owner closed it, or every "
                "process that held it let it go"
            ) from None
        existing = _attached.get(name)
        if existing is not None and existing._segment is segment and existing._array is not None:
            if name in _recent:
                _recent.move_to_end(name)
            return existing
        handle = cls.__new__(cls)
        handle._shape, handle._dtype, handle._order = shape, np.dtype(dtype), order
        handle._segment = segment
        handle._array = handle._view(segment)
        _attached[name] = handle
        if current_worker() is not None:
            _remember(handle)
        return handle

    def _view(self, segment: Segment) -> np.ndarray[Any, Any]:
        order: Any = self._order
        view: np.ndarray[Any, Any] = np.ndarray(
            self._shape, self._dtype, buffer=segment.buf, order=order
        )
        return view

    def __reduce__(self) -> tuple[Any, ...]:
        if self._array is None:
            raise SharedObjectClosedError("cannot pass a closed corepool.SharedArray")
        name, janitor = self._segment.send()
        return (_attach_array, (name, janitor, self._shape, self._dtype, self._order))

    # -- the ndarray

    @property
    def array(self) -> np.ndarray[Any, Any]:
        """The ndarray view of the shared memory (no copy)."""
        if self._array is None:
            raise SharedObjectClosedError("operation on a closed corepool.SharedArray")
        return self._array

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        if copy:
            return np.array(self.array, dtype=dtype, copy=True)
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain = tuple(value.array if isinstance(value, SharedArray) else value for value in inputs)
        outputs = kwargs.get("out")
        if outputs:
            kwargs["out"] = tuple(
                value.array if isinstance(value, SharedArray) else value for value in outputs
            )
        result = getattr(ufunc, method)(*plain, **kwargs)
        if outputs and len(outputs) == 1 and isinstance(outputs[0], SharedArray):
            return outputs[0]  # in place (a += 1): stay a SharedArray
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.array, name)  # sum, mean, reshape, T, ...

    def __getitem__(self, index: Any) -> Any:
        return self.array[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        self.array[index] = value

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self) -> Any:
        return iter(self.array)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        dtype: np.dtype[Any] = np.dtype(self._dtype)
        return dtype

    @property
    def name(self) -> str:
        """The segment's name (``/cp-...``, a file in ``/dev/shm``)."""
        return self._segment.name

    @property
    def owner(self) -> bool:
        """Whether this process created the array (its ``close()`` then ends it everywhere)."""
        return self._segment.created

    @property
    def closed(self) -> bool:
        return self._array is None

    def close(self) -> None:
        """Drop this handle; in the owner, also unlink the segment (no process can attach it).

        Memory is released once every process has dropped its arrays of it.
        """
        if self._array is None:
            return
        self._array = None
        _recent.pop(self._segment.name, None)
        if self._segment.created:
            self._segment.unlink()
        self._segment.close()

    def __enter__(self) -> SharedArray:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._array is None:
            return "<corepool.SharedArray closed>"
        return f"corepool.SharedArray({self._array!r})"


def _remember(handle: SharedArray) -> None:
    """Keep a pool worker's recent attachment open; drop the oldest and the unlinked ones."""
    for name in [name for name in _recent if not memory.exists(name)]:
        del _recent[name]
    _recent[handle.name] = handle
    while len(_recent) > _RECENT_ATTACHMENTS:
        _recent.popitem(last=False)


def _attach_array(
    name: str, janitor: str, shape: tuple[int, ...], dtype: Any, order: str
) -> SharedArray:
    return SharedArray._attach(name, janitor, shape, dtype, order)
