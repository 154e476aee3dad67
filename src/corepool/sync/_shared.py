"""What every corepool synchronisation object has in common.

Its state lives in a ``Segment``; pickling sends the segment (by name) and the class, and
unpickling in a process that already has the object returns that very object, so a lock passed
to a task and back is still ``is``-identical.  Objects are cached per process by segment name.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, TypeVar

from corepool.shared.memory import Segment

__all__ = ["SharedObject"]

S = TypeVar("S", bound="SharedObject")

_objects: weakref.WeakValueDictionary[str, SharedObject] = weakref.WeakValueDictionary()
_objects_lock = threading.Lock()


class SharedObject:
    """Base class: a Python object whose state is a shared-memory segment."""

    _segment: Segment

    @classmethod
    def _wrap(cls: type[S], segment: Segment) -> S:
        """The object of this process for ``segment`` (made on first use)."""
        with _objects_lock:
            existing = _objects.get(segment.name)
            if existing is not None:
                if not isinstance(existing, cls):
                    raise TypeError(f"segment {segment.name} holds a {type(existing).__name__}")
                return existing
            made = cls.__new__(cls)  # not object.__new__: a lock's base may be a C type
            made._bind(segment)
            _objects[segment.name] = made
            return made

    def _register(self, segment: Segment) -> None:
        """Called by ``__init__`` of a new object once its segment is ready."""
        self._bind(segment)
        with _objects_lock:
            _objects[segment.name] = self

    def _bind(self, segment: Segment) -> None:
        self._segment = segment

    def _on_collect(self, callback: Any, *args: Any) -> None:
        """Run ``callback(*args)`` when this object is collected, but not at interpreter exit
        (the process's mappings and holds end with it then, in the right order)."""
        weakref.finalize(self, callback, *args).atexit = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._segment))

    def __getstate__(self) -> object:  # pragma: no cover - __reduce__ covers pickling
        raise TypeError(f"{type(self).__name__} pickles through __reduce__")


def _rebuild(cls: type[S], segment: Segment) -> S:
    return cls._wrap(segment)
