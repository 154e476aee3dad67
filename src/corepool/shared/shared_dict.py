"""``corepool.Dict``: a dict that many processes use at once.

    b"i" + canonical key ─▶ value pickle                           the items
    b"k" + canonical key ─▶ [seq: 8 bytes][key pickle, or nothing]  written when a key is added
    b"o" + seq (8 bytes, big-endian) ─▶ canonical key              insertion order, as a dict

Keys follow dict equality through their canonical bytes (``_keys``).  The key pickle is stored only
for keys that their bytes cannot give back exactly (``1.0``, ``True``, tuples of those, ...), so
iteration returns the key first inserted, as a dict does.  Replacing the value of a present
key touches only its ``i`` entry: one B-tree operation while holding the write lock.  Every
operation is one LMDB transaction; ``update_with``/``increment``/``setdefault``/``pop`` read and
write in the same one, so they are atomic across processes.
"""

from __future__ import annotations

import struct
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, TypeVar

from corepool.shared._environment import Environment
from corepool.shared._kept import names_in
from corepool.shared._keys import decode_key, dump_value, encode_key, load_value
from corepool.shared._store import SharedStore

__all__ = ["Dict"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_ITEM, _KEY, _ORDER = b"i", b"k", b"o"  # prefixes: the order entries sort last
_SEQ = struct.Struct(">Q")
_MISSING: Any = object()


class Dict(SharedStore, MutableMapping[K, V]):
    """A dict shared by every process that holds it, with atomic read-modify-write.

    Create it in one process (the owner) and pass it anywhere: pool tasks, their results,
    ``multiprocessing.Process`` arguments, under fork, forkserver or spawn.  Each process sees the
    same contents.  ``d[k] += 1`` from many processes loses updates, as with any shared dict; say
    ``d.increment(k)`` or ``d.update_with(k, fn, default)`` instead, or group operations in
    ``with d.transaction():``.

    Values are stored pickled: ``d[k]`` returns a *copy*, so ``d[k].append(x)`` changes nothing
    shared.  Mutate through ``d.update_with(k, lambda v: v + [x], [])`` or a transaction.

    Build it as a dict: ``Dict({"a": 1})``, ``Dict([("a", 1)])``, ``Dict(a=1)``.  Iterating it
    reads it once; like a dict, the iteration raises ``RuntimeError`` if the size changes
    meanwhile.  ``max_bytes`` (keyword only, so not a possible key of ``Dict(**items)``) bounds
    the size (default 1 GiB); memory is used as the data grows.  The owner's ``close()`` (or
    exit, or death) removes the files.
    """

    _kind = "Dict"

    def __init__(
        self,
        data: Mapping[K, V] | Iterable[tuple[K, V]] | None = None,
        /,
        *,
        max_bytes: int | None = None,
        **items: V,
    ) -> None:
        super().__init__(max_bytes=max_bytes)
        if data is None and not items:
            return
        try:
            self.update(() if data is None else data, **items)
        except BaseException:
            self.close()  # nothing half-made is left behind
            raise

    @classmethod
    def fromkeys(
        cls, iterable: Iterable[K], value: Any = None, *, max_bytes: int | None = None
    ) -> Dict[K, Any]:
        return cls(((key, value) for key in iterable), max_bytes=max_bytes)

    # -- reading

    def __getitem__(self, key: K) -> V:
        value = self._environment().load(_ITEM + encode_key(key)[0], _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def get(self, key: K, default: Any = None) -> Any:
        return self._environment().load(_ITEM + encode_key(key)[0], default)

    def __contains__(self, key: object) -> bool:
        encoded = _ITEM + encode_key(key)[0]
        return self._environment().read(lambda txn: txn.get(encoded) is not None)

    def __len__(self) -> int:
        return self._environment().read(lambda txn: int(txn.stat()["entries"]) // 3)

    def __iter__(self) -> Iterator[K]:
        return _SizeChecked(self, self._snapshot(keys=True, values=False))

    def __reversed__(self) -> Iterator[K]:
        keys: list[K] = self._snapshot(keys=True, values=False)
        keys.reverse()
        return _SizeChecked(self, keys)

    def keys(self) -> KeysView[K]:
        return _KeysView(self)

    def items(self) -> ItemsView[K, V]:
        return _ItemsView(self)

    def values(self) -> ValuesView[V]:
        return _ValuesView(self)

    def copy(self) -> dict[K, V]:
        """A plain ``dict`` with the contents at one instant."""
        return dict(self._snapshot(keys=True, values=True))

    def _snapshot(self, *, keys: bool, values: bool) -> list[Any]:
        """Keys, values or (key, value) pairs in insertion order, from one consistent read."""
        environment = self._environment()

        def read(txn: Any) -> list[Any]:
            out: list[Any] = []
            cursor = txn.cursor()
            if not cursor.set_range(_ORDER):
                return out
            for encoded in cursor.iternext(keys=False, values=True):
                key = _key_of(encoded, txn.get(_KEY + encoded)) if keys else None
                value = load_value(txn.get(_ITEM + encoded)) if values else None
                out.append((key, value) if keys and values else key if keys else value)
            return out

        return environment.read(read)

    # -- writing

    def __setitem__(self, key: K, value: V) -> None:
        encoded, exact = encode_key(key)
        encoded = _ITEM + encoded
        blob = self._dump(value, key)
        environment = self._environment()
        replaced = environment.store(
            encoded, blob, self._add_key, environment, key, (encoded, exact)
        )
        if replaced:
            self._let_go_of(replaced)

    def __delitem__(self, key: K) -> None:
        encoded = _ITEM + encode_key(key)[0]
        environment = self._environment()
        removed = environment.write(
            lambda txn: self._remove(environment, txn, encoded), grows=False
        )
        if removed is None:
            raise KeyError(key)
        self._let_go_of(names_in(removed[0]))

    def pop(self, key: K, default: Any = _MISSING) -> Any:
        """Remove ``key`` and return its value (atomic)."""
        encoded = _ITEM + encode_key(key)[0]
        environment = self._environment()
        record = environment.write(lambda txn: self._remove(environment, txn, encoded), grows=False)
        if record is not None:
            value = load_value(record[0])  # held here before the store lets go of what it names
            self._let_go_of(names_in(record[0]))
            return value
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[K, V]:
        """Remove and return the last inserted (key, value) pair (atomic), as a dict does."""
        environment = self._environment()

        def pop_last(txn: Any) -> tuple[K, V, list[str]] | None:
            cursor = txn.cursor()
            if not cursor.last() or not bytes(cursor.key()).startswith(_ORDER):
                return None
            encoded = _ITEM + bytes(cursor.value())
            removed = self._remove(environment, txn, encoded)
            assert removed is not None
            value, key_record = removed
            return _key_of(encoded[1:], key_record), load_value(value), names_in(value)

        popped = environment.write(pop_last, grows=False)
        if popped is None:
            raise KeyError("popitem(): corepool.Dict is empty")
        key, value, kept = popped
        self._let_go_of(kept)
        return key, value

    def clear(self) -> None:
        environment = self._environment()

        def drop(txn: Any) -> None:
            txn.drop(environment.env.open_db(None), delete=False)

        environment.write(drop, grows=False)

    def update(self, other: Any = (), /, **kwargs: V) -> None:
        """Like ``dict.update``; all the pairs are written in one atomic transaction."""
        pairs = _pairs(other)
        pairs.extend(kwargs.items())
        prepared = []
        for key, value in pairs:
            prepared.append((key, *_item_key(key), self._dump(value, key)))
        environment = self._environment()

        def write_all(txn: Any) -> list[str]:
            replaced: list[str] = []
            for key, encoded, exact, blob in prepared:
                replaced += self._put(environment, txn, key, (encoded, exact), blob)
            return replaced

        size = sum(len(entry[3]) + len(entry[1]) for entry in prepared)
        self._let_go_of(environment.write(write_all, size))

    def setdefault(self, key: K, default: Any = None) -> Any:
        """``d[key]`` if present, else store ``default`` and return it (atomic)."""
        return self.update_with(key, _unchanged, default)

    # -- atomic read-modify-write

    def update_with(self, key: K, fn: Callable[[Any], Any], default: Any = _MISSING) -> Any:
        """Set ``d[key] = fn(d[key])`` in one atomic step and return the new value.

        ``default`` stands in for a missing key (without one, a missing key raises KeyError).
        ``fn`` runs while this Dict is locked for writing: keep it short, and do not wait in it
        for other processes that write to this Dict.  If ``fn`` raises, nothing changes.
        """
        encoded, exact = _item_key(key)
        environment = self._environment()

        def modify(txn: Any) -> tuple[Any, list[str]]:
            record = txn.get(encoded)
            if record is not None:
                old = load_value(record)
            elif default is _MISSING:
                raise KeyError(key)
            else:
                old = default
            new = fn(old)
            if record is None or fn is not _unchanged:
                blob = self._dump(new, key)
                return new, self._put(environment, txn, key, (encoded, exact), blob)
            return new, []

        new, replaced = environment.write(modify)
        self._let_go_of(replaced)
        return new

    def increment(self, key: K, by: Any = 1) -> Any:
        """Add ``by`` to ``d[key]`` (0 when missing) in one atomic step; return the new value."""
        return self.update_with(key, lambda value: value + by, 0)

    # -- storage

    def _put(
        self, environment: Environment, txn: Any, key: K, canonical: tuple[bytes, bool], blob: bytes
    ) -> list[str]:
        """Store ``blob``; the names the value it replaced kept (``_kept``)."""
        old = environment.replace(txn, canonical[0], blob)
        if old is None:
            self._add_key(txn, environment, key, canonical)
        # else: a present key keeps its first form and its place, as in a dict
        return names_in(old)

    def _add_key(
        self, txn: Any, environment: Environment, key: K, canonical: tuple[bytes, bool]
    ) -> None:
        """Record a new key: its original form (when needed) and its place in the order."""
        encoded, exact = canonical
        cursor = txn.cursor()
        last = bytes(cursor.key()) if cursor.last() else b""
        seq = _SEQ.unpack(last[1:])[0] + 1 if last.startswith(_ORDER) else 0
        key_blob = b"" if exact else dump_value(key, "corepool.Dict (as a key)")
        canonical_key = encoded[1:]
        environment.put(txn, _KEY + canonical_key, _SEQ.pack(seq) + key_blob)
        environment.put(txn, _ORDER + _SEQ.pack(seq), canonical_key)

    def _remove(
        self, environment: Environment, txn: Any, encoded: bytes
    ) -> tuple[bytes, bytes] | None:
        """Delete an item; its value pickle and its key record, or None if it was absent."""
        value = txn.pop(encoded)
        if value is None:
            return None
        key_record = txn.pop(_KEY + encoded[1:])
        txn.delete(_ORDER + key_record[: _SEQ.size])
        return bytes(value), bytes(key_record)

    def __repr__(self) -> str:
        if self.closed:
            return "<corepool.Dict closed>"
        return f"corepool.Dict({self.copy()!r})"

    # -- dict operators

    def __or__(self, other: Any) -> dict[Any, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.copy() | dict(other)

    def __ror__(self, other: Any) -> dict[Any, Any]:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(other) | self.copy()

    def __ior__(self, other: Any) -> Dict[K, V]:
        self.update(other)
        return self


def _item_key(key: object) -> tuple[bytes, bool]:
    encoded, exact = encode_key(key)
    return _ITEM + encoded, exact


def _pairs(other: Any) -> list[tuple[Any, Any]]:
    if isinstance(other, Mapping):
        return list(other.items())
    if hasattr(other, "keys"):
        return [(key, other[key]) for key in other.keys()]  # noqa: SIM118 - dict.update's rule
    pairs = []
    for index, element in enumerate(other):
        pair = tuple(element)
        if len(pair) != 2:
            raise ValueError(
                f"dictionary update sequence element #{index} has length {len(pair)}; 2 is required"
            )
        pairs.append(pair)
    return pairs


def _unchanged(value: Any) -> Any:
    return value


def _key_of(encoded: Any, key_record: Any) -> Any:
    if len(key_record) > _SEQ.size:
        return load_value(key_record[_SEQ.size :])
    return decode_key(encoded)


class _SizeChecked(Iterator[T]):
    """Goes through one consistent read of the dict, and raises ``RuntimeError`` as a dict's
    iterator does if the dict's size has changed since (in any process).

    Each step reads the size (one read transaction, ~1 µs): that is what lets ``for k in d:
    del d[k]`` fail as it does on a dict instead of silently working on a stale read."""

    def __init__(self, mapping: Dict[Any, Any], snapshot: list[T]) -> None:
        self._mapping: Dict[Any, Any] | None = mapping
        self._size = len(snapshot)
        self._items = iter(snapshot)

    def __next__(self) -> T:
        if self._mapping is None:
            raise StopIteration
        if len(self._mapping) != self._size:
            self._size = -1  # as a dict's iterator: it keeps failing
            raise RuntimeError("dictionary changed size during iteration")
        try:
            return next(self._items)
        except StopIteration:
            self._mapping = None  # exhausted: the dict may change freely now
            raise


class _KeysView(KeysView[K]):
    def __iter__(self) -> Iterator[K]:
        mapping: Dict[K, Any] = self._mapping  # type: ignore[attr-defined]
        return iter(mapping)  # read now, as a dict's keys iterator starts now


class _ItemsView(ItemsView[K, V]):
    def __iter__(self) -> Iterator[tuple[K, V]]:
        mapping: Dict[K, V] = self._mapping  # type: ignore[attr-defined]
        return _SizeChecked(mapping, mapping._snapshot(keys=True, values=True))


class _ValuesView(ValuesView[V]):
    def __iter__(self) -> Iterator[V]:
        mapping: Dict[Any, V] = self._mapping  # type: ignore[attr-defined]
        return _SizeChecked(mapping, mapping._snapshot(keys=False, values=True))
