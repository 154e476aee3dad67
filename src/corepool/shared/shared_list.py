"""``corepool.List``: a list that many processes use at once.

    index (8 bytes, big-endian) ─▶ value pickle          indices 0 .. n-1, nothing else stored

The length is the last index + 1.  Appending, reading, replacing and popping the end cost one
B-tree operation; inserting or deleting in the middle moves every later item, in one transaction
(a Python list moves them too).  Slice assignment, ``sort`` and ``reverse`` rewrite the list in one
transaction.  Every method is atomic across processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from typing import Any, SupportsIndex, TypeVar, overload

from corepool.shared._environment import Environment
from corepool.shared._kept import names_in
from corepool.shared._keys import load_value
from corepool.shared._store import SharedStore

__all__ = ["List"]

T = TypeVar("T")
_END: Any = object()


def _key(index: int) -> bytes:
    return index.to_bytes(8, "big")


def _length(environment: Environment, txn: Any) -> int:
    cursor = txn.cursor()
    return int.from_bytes(cursor.key(), "big") + 1 if cursor.last() else 0


def _position(index: SupportsIndex, length: int) -> int:
    position = index.__index__()
    if position < 0:
        position += length
    if not 0 <= position < length:
        raise IndexError("corepool.List index out of range")
    return position


class List(SharedStore, MutableSequence[T]):
    """A list shared by every process that holds it; every method is atomic.

    Create it in one process (the owner) and pass it anywhere, like ``corepool.Dict``.  Items are
    stored pickled: ``lst[i]`` returns a *copy*; change an item with ``lst[i] = new`` or
    ``lst.update_with(i, fn)``.  ``with lst.transaction():`` groups several operations.
    """

    _kind = "List"

    def __init__(self, iterable: Iterable[T] = (), /, *, max_bytes: int | None = None) -> None:
        super().__init__(max_bytes=max_bytes)
        try:
            self.extend(iterable)
        except BaseException:
            self.close()  # nothing half-made is left behind
            raise

    # -- reading

    def __len__(self) -> int:
        environment = self._environment()
        return environment.read(lambda txn: _length(environment, txn))

    @overload
    def __getitem__(self, index: SupportsIndex) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> T | list[T]:
        environment = self._environment()
        if isinstance(index, slice):
            return environment.read(lambda txn: self._read_all(environment, txn)[index])

        def read(txn: Any) -> T:
            position = _position(index, _length(environment, txn))
            return load_value(txn.get(_key(position)))  # type: ignore[no-any-return]

        return environment.read(read)

    def _read_all(self, environment: Environment, txn: Any) -> list[T]:
        cursor = txn.cursor()
        return [load_value(blob) for blob in cursor.iternext(keys=False, values=True)]

    def copy(self) -> list[T]:
        """A plain ``list`` with the contents at one instant."""
        environment = self._environment()
        return environment.read(lambda txn: self._read_all(environment, txn))

    def __iter__(self) -> Iterator[T]:
        """Item by item, as a list's iterator (and ``multiprocessing``'s list proxy) does: a
        change made meanwhile is seen, and the iteration ends at the length it finds."""
        index = 0
        while True:
            value = self._environment().load(_key(index), _END)
            if value is _END:
                return
            yield value
            index += 1

    def __reversed__(self) -> Iterator[T]:
        return reversed(self.copy())

    def __contains__(self, value: object) -> bool:
        return value in self.copy()

    def index(self, value: Any, start: SupportsIndex = 0, stop: SupportsIndex | None = None) -> int:
        items = self.copy()
        return items.index(value, start, len(items) if stop is None else stop)

    def count(self, value: Any) -> int:
        return self.copy().count(value)

    # -- writing one item

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            replacement = list(value)
            self._rewrite(lambda items: items.__setitem__(index, replacement))
            return
        blob = self._dump(value, index)
        environment = self._environment()

        def replace(txn: Any) -> list[str]:
            position = _position(index, _length(environment, txn))
            return names_in(environment.replace(txn, _key(position), blob))

        self._let_go_of(environment.write(replace, len(blob)))

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        if isinstance(index, slice):
            self._rewrite(lambda items: items.__delitem__(index))
            return
        self.pop(index)

    def append(self, value: T) -> None:
        blob = self._dump(value)
        environment = self._environment()
        environment.write(
            lambda txn: environment.put(txn, _key(_length(environment, txn)), blob),
            len(blob),
        )

    def extend(self, values: Iterable[T]) -> None:
        """Append every value, in one atomic transaction."""
        if values is self:
            values = self.copy()
        blobs = [self._dump(value) for value in values]
        if not blobs:
            return
        environment = self._environment()

        def append_all(txn: Any) -> None:
            start = _length(environment, txn)
            for offset, blob in enumerate(blobs):
                environment.put(txn, _key(start + offset), blob)

        environment.write(append_all, sum(map(len, blobs)))

    def insert(self, index: SupportsIndex, value: T) -> None:
        blob = self._dump(value)
        environment = self._environment()

        def insert(txn: Any) -> None:
            length = _length(environment, txn)
            position = index.__index__()
            position = max(0, position + length) if position < 0 else min(position, length)
            for moved in range(length - 1, position - 1, -1):
                environment.put(txn, _key(moved + 1), bytes(txn.get(_key(moved))))
            environment.put(txn, _key(position), blob)

        environment.reserve_for_rewrite()
        environment.write(insert, len(blob))

    def pop(self, index: SupportsIndex = -1) -> T:
        """Remove and return the item at ``index`` (the last by default), atomically."""
        environment = self._environment()

        def pop(txn: Any) -> bytes:
            length = _length(environment, txn)
            if length == 0:
                raise IndexError("pop from empty corepool.List")
            position = _position(index, length)
            blob = bytes(txn.get(_key(position)))
            for moved in range(position + 1, length):
                environment.put(txn, _key(moved - 1), bytes(txn.get(_key(moved))))
            txn.delete(_key(length - 1))
            return blob

        blob = environment.write(pop, grows=False)
        value = load_value(blob)  # held here before the list lets go of what it names
        self._let_go_of(names_in(blob))
        return value  # type: ignore[no-any-return]

    def remove(self, value: T) -> None:
        """Remove the first item equal to ``value`` (atomic)."""
        self._rewrite(lambda items: items.remove(value))

    def clear(self) -> None:
        environment = self._environment()
        main = environment.env.open_db(None)
        environment.write(lambda txn: txn.drop(main, delete=False), grows=False)

    # -- whole-list operations

    def reverse(self) -> None:
        self._rewrite(lambda items: items.reverse())

    def sort(self, *, key: Callable[[T], Any] | None = None, reverse: bool = False) -> None:
        """Sort in place, atomically (the list is read, sorted and written in one transaction)."""
        self._rewrite(lambda items: items.sort(key=key, reverse=reverse))

    def _rewrite(self, change: Callable[[list[T]], object]) -> None:
        """Read the list, apply ``change`` to it, write it back: one atomic transaction."""
        environment = self._environment()
        main = environment.env.open_db(None)

        def rewrite(txn: Any) -> None:
            values = self._read_all(environment, txn)
            change(values)
            # The values' names are kept again; the old entries' stay kept too, until the
            # list's end (conservative: see ``_kept``).
            blobs = [self._dump(value) for value in values]
            txn.drop(main, delete=False)
            for position, blob in enumerate(blobs):
                environment.put(txn, _key(position), blob)

        environment.reserve_for_rewrite()
        environment.write(rewrite)

    # -- atomic read-modify-write

    def update_with(self, index: SupportsIndex, fn: Callable[[T], T]) -> T:
        """Set ``lst[index] = fn(lst[index])`` in one atomic step and return the new value."""
        environment = self._environment()

        def modify(txn: Any) -> tuple[T, list[str]]:
            key = _key(_position(index, _length(environment, txn)))
            new = fn(load_value(txn.get(key)))
            blob = self._dump(new, index)
            return new, names_in(environment.replace(txn, key, blob))

        new, replaced = environment.write(modify)
        self._let_go_of(replaced)
        return new

    def increment(self, index: SupportsIndex, by: Any = 1) -> Any:
        """Add ``by`` to ``lst[index]`` atomically; return the new value."""
        return self.update_with(index, lambda value: value + by)

    # -- list operators

    def __iadd__(self, values: Iterable[T]) -> List[T]:
        self.extend(values)
        return self

    def __imul__(self, count: int) -> List[T]:
        self._rewrite(lambda items: items.__imul__(count))
        return self

    def __add__(self, other: list[T]) -> list[T]:
        return self.copy() + list(other)

    def __radd__(self, other: list[T]) -> list[T]:
        return list(other) + self.copy()

    def __mul__(self, count: int) -> list[T]:
        return self.copy() * count

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, List):
            return self.copy() == other.copy()
        if isinstance(other, list):
            return self.copy() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: Any) -> bool:
        return self.copy() < list(other)

    def __le__(self, other: Any) -> bool:
        return self.copy() <= list(other)

    def __gt__(self, other: Any) -> bool:
        return self.copy() > list(other)

    def __ge__(self, other: Any) -> bool:
        return self.copy() >= list(other)

    def __repr__(self) -> str:
        if self.closed:
            return "<corepool.List closed>"
        return f"corepool.List({self.copy()!r})"
