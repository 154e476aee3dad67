"""How a queue item becomes bytes in the caller and an item again in the getter.

    encode: pickle ─▶ ≤ OVERFLOW_BYTES: the bytes go into slots
                    ─▶ larger: a segment of its own (tied to the queue's); its name goes in
    decode: bytes ─▶ unpickle            (a name: attach, copy, unlink unless kept, unpickle)

Both raise ``SerializationError`` naming the step, with the original error as its cause.
"""

from __future__ import annotations

import pickle
from typing import Any

from corepool._wire import serialization
from corepool.errors import SerializationError
from corepool.shared.memory import Segment
from corepool.sync._queue_layout import OVERFLOW_BYTES

__all__ = ["decode", "drop_overflow", "encode", "unpickle"]


def encode(obj: Any, queue_segment: Segment) -> tuple[bytes, int, Segment | None]:
    """(payload, size field, overflow segment or None): ``size < 0`` marks a segment's name.

    The caller closes the overflow segment once the payload is stored (the queue's segment keeps
    it alive), or unlinks it if storing failed."""
    try:
        blob = serialization.dumps(obj)  # plain pickle, cloudpickle for lambdas and closures
    except Exception as error:
        raise SerializationError(
            "pickling a queue item", f"{type(obj).__name__!r} object: {error}"
        ) from error
    if len(blob) <= OVERFLOW_BYTES:
        return blob, len(blob), None
    overflow = Segment.create(len(blob), parent=queue_segment)
    overflow.buf[:] = blob
    name = overflow.name.encode("ascii")
    return name, -len(name), overflow


def unpickle(payload: bytes) -> Any:
    try:
        return pickle.loads(payload)
    except Exception as error:
        raise SerializationError("unpickling a queue item", repr(error)) from error


def decode(size: int, payload: bytes, *, keep: bool = False, janitor: str | None = None) -> Any:
    """The item stored as ``payload`` (``size < 0``: the name of an overflow segment, which is
    unlinked unless ``keep``)."""
    if size < 0:
        segment = Segment.attach(payload.decode("ascii"), janitor=janitor)
        try:
            payload = bytes(segment.buf)
        finally:
            if not keep:
                segment.unlink()
            segment.close()
    return unpickle(payload)


def drop_overflow(payload: bytes, janitor: str | None) -> None:
    """Unlink the overflow segment named by ``payload`` (its item was known without it)."""
    Segment.attach(payload.decode("ascii"), janitor=janitor).unlink()
