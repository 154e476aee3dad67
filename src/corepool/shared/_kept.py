"""Handles stored in a ``Dict`` or ``List``: kept alive by the store, not counted in flight.

A handle pickled to go somewhere (a task's argument, a queue's item) arrives once: the janitor
counts it in flight (``P``) until it is unpickled (``A``), see ``memory``.  A handle stored in a
``Dict`` or ``List`` (``lst.append(corepool.Queue())``) is read back any number of times, by any
process, or never; counted that way, its first read would end the count, and the segment would
go as soon as that reader dropped it, with the pickle still in the store (``SegmentGoneError`` on
the next read).  So the *store* keeps what its values name:

    d[k] = v ─ pickle v with a collector: a Segment / Dict / List in it notes its name instead of
    │          telling ``P``, and pickles as "attach and hold" (``H``), not "arrived" (``A``)
    ├─ ``K <store> <name>`` to the janitor, before the write: the store keeps the name
    read  ─ unpickling holds the name in the reading process, as attaching it does; no count moves
    the entry replaced or deleted ─ ``k <store> <name>`` once the write is done
    the store removed (its owner closed it, or its last holder went) ─ the janitor lets go of
                   every name it kept, and removes those nobody else holds

A stored value that keeps names says which, ahead of its pickle and still a valid pickle itself
(``b"\\x80\\x05X" <length> "corepool-kept\\n" <names> POP`` then the value's own pickle), so
``pickle.loads`` reads it unchanged and removing an entry finds its names without unpickling.

Conservative where an entry leaves without saying so: ``clear()``, a whole-list rewrite (``sort``,
``remove``...), a removal inside ``transaction()`` (it might still be rolled back) let go of
nothing; those names stay kept until the store itself is removed.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Iterator

from corepool.shared._janitor_client import CLIENT, JanitorGone

__all__ = ["collecting", "keep", "let_go", "names_in", "noted", "wrap"]

_MARK = b"corepool-kept\n"
_HEAD = b"\x80\x05X"  # PROTO 5, BINUNICODE (a 4-byte length follows), then the names, then POP
_POP = b"0"
_LENGTH = struct.Struct("<I")
_NAMES_AT = len(_HEAD) + _LENGTH.size

_local = threading.local()


@contextlib.contextmanager
def collecting(janitor: str) -> Iterator[dict[str, None]]:
    """Within the block, handles of ``janitor``'s names pickled by this thread are noted (in
    order, once each) instead of counted in flight (``noted``)."""
    outer = getattr(_local, "collector", None)
    names: dict[str, None] = {}
    _local.collector = (janitor, names)
    try:
        yield names
    finally:
        _local.collector = outer


def noted(name: str, janitor: str) -> bool:
    """Called by ``__reduce__`` of a handle: True if a store is pickling it (name noted)."""
    collector = getattr(_local, "collector", None)
    if collector is None or collector[0] != janitor:
        return False  # not stored, or another janitor's name (rare): counted in flight instead
    collector[1][name] = None
    return True


def wrap(blob: bytes, names: dict[str, None]) -> bytes:
    """``blob`` with the names it keeps ahead of it (still a pickle of the same value)."""
    listed = _MARK + "\n".join(names).encode("ascii")
    return _HEAD + _LENGTH.pack(len(listed)) + listed + _POP + blob


def names_in(blob: bytes | memoryview | None) -> list[str]:
    """The names a stored value keeps (none for a plain pickle)."""
    # One byte first: this runs on every replaced value (``d[k] = v``), nearly all plain pickles.
    if blob is None or len(blob) < _NAMES_AT or blob[2] != _HEAD[2] or blob[:2] != _HEAD[:2]:
        return []
    (length,) = _LENGTH.unpack(blob[len(_HEAD) : _NAMES_AT])
    listed = bytes(blob[_NAMES_AT : _NAMES_AT + length])
    if not listed.startswith(_MARK):
        return []
    return listed[len(_MARK) :].decode("ascii").split("\n")


def keep(store: str, janitor: str, names: dict[str, None] | list[str]) -> None:
    for name in names:
        CLIENT.tell(janitor, f"K {store} {name}")


def let_go(store: str, janitor: str, names: list[str]) -> None:
    with contextlib.suppress(JanitorGone):
        for name in names:
            CLIENT.tell(janitor, f"k {store} {name}")
