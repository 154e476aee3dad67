"""Large buffers of task arguments and results travel through shared memory, not the channel.

Pickle protocol 5 hands every buffer an object exposes (a contiguous NumPy array, for one) to a
``buffer_callback``; the ones of at least ``LARGE_BUFFER_BYTES`` are kept out of the pickle and
copied into ``memory.Segment``s.  The pickle then travels as a ``SegmentPickle``: the small pickle
plus the names of its segments.  NumPy is never imported here.

    arguments (parent ─▶ worker)                       results (worker ─▶ parent)
    ────────────────────────────                       ──────────────────────────
    parent: pack_call_items ─ dumps_arguments          worker: pack_results ─ dumps_result
      each large buffer copied ONCE into a segment       each large buffer copied into a new
      the parent holds; the same array passed to         segment the worker holds
      many tasks reuses it (by identity)
    worker: unpack_call_items ─ loads                  worker: the Done message is written ─
      maps each segment private (copy-on-write,          counted in flight, let go (``send``)
      clean mappings kept: ``_argument_maps``):
      no copy, and writes stay the task's own          parent: the Done message is unpickled ─
                                                         each segment is received (held, mapped)
                                                       parent: unpack_results ─ loads
                                                         the arrays are views of those mappings
    parent: the chunk's pickle holds the segment; the    and keep them alive; the janitor unlinks
      last one to go lets it go, and the janitor         the name when the parent lets go
      unlinks it

Every segment is a ``memory.Segment``, so the tree's janitor is what removes it (see ``memory``
for who holds, closes and unlinks):

* an argument segment is held by the parent for as long as a chunk that needs it exists; workers
  map it without holding it.  A worker killed while using it changes nothing; the parent's exit
  or death ends the hold.
* a result segment is held by the worker until the Done message carrying it is written to the
  channel, then counted in flight until the parent unpickles that message, then held by the
  parent until its arrays are gone.  The worker may exit in between.  A worker killed at any
  point leaves nothing: before the write its hold ends with it, after it the parent receives.

Arrays smaller than the threshold, non-contiguous arrays (NumPy pickles those in-band), and
everything when shared memory is full, travel in the pickle as before.
"""

from __future__ import annotations

import pickle
import sys
import weakref
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from corepool.shared.memory import Segment

# The segment machinery (``memory``, ``_argument_maps``, the janitor's client: ~20 ms of imports)
# is imported on the first large buffer, not here: every worker imports this module, most never
# see a large buffer, and under forkserver and spawn a pool's start-up waits for those imports.
_ARGUMENT_MAPS = "corepool.shared._argument_maps"

__all__ = [
    "LARGE_BUFFER_BYTES",
    "SegmentPickle",
    "dumps_arguments",
    "dumps_result",
    "loads",
    "message_sent",
]

LARGE_BUFFER_BYTES = 1 << 20
"""Buffers of at least this many bytes travel through shared memory.  Below ~1 MiB the channel
is as fast as making, mapping and removing a segment (benchmarks/results/numpy.md)."""

IN_PLACE_BYTES = 16 << 20
"""Arguments of at least this many bytes may be shared where they lie (``_in_place``); smaller
ones are copied: reading ``/proc/self/maps`` (~1 ms) is then a noticeable part of the call, and
the memory saved small."""

_PROTOCOL = 5


class SegmentPickle(bytes):
    """A pickle whose large buffers are in segments; travels as the pickle plus their names."""

    segments: tuple[tuple[str, int], ...]
    """(name, size) of each out-of-band buffer's segment, in the pickle's order."""
    offsets: tuple[int, ...]
    """Where each buffer starts in its segment (0, or the header of an array shared in place:
    ``_in_place``); the buffer runs to the segment's end."""
    janitor: str
    """The janitor that keeps track of the segments."""
    result: bool
    """A result: the segments were counted in flight, and the receiver holds them."""
    keep_alive: tuple[object, ...]
    """The ``Segment`` objects this pickle needs (argument segments in the parent, received result
    segments in the parent); they are let go with it."""
    failure: BaseException | None
    """Why the segments of a received result could not be attached (raised by ``loads``)."""
    outgoing: tuple[Segment, ...]
    """A result in the worker: its segments, held until the message carrying them is written."""

    def __reduce__(self) -> tuple[Any, ...]:
        if self.outgoing:
            _in_message.append(self)  # handed over by ``message_sent``
        return (_rebuild, (bytes(self), self.segments, self.janitor, self.result, self.offsets))


_in_message: list[SegmentPickle] = []
"""Results pickled into the message this worker is writing to its channel."""


def message_sent() -> None:
    """The worker wrote a message: count its result segments in flight, and let them go.

    Counted only now, after the write: a worker killed earlier takes its holds with it, so the
    janitor removes the segments; one killed later has sent them.  The parent may receive one
    before the janitor hears ``P``: its count then dips below zero and comes back, and the
    worker's own hold keeps the segment until then.
    """
    while _in_message:
        blob = _in_message.pop()
        for segment in blob.outgoing:
            segment.send()
            segment.close()
        blob.outgoing = ()


def _rebuild(
    payload: bytes,
    where: tuple[tuple[str, int], ...],
    janitor: str,
    result: bool,
    offsets: tuple[int, ...] = (),
) -> SegmentPickle:
    blob = _blob(payload, where, janitor, result, ())
    blob.offsets = offsets
    if result:
        # Receive the segments now, as the message is read, so that a message dropped before it
        # is unpacked (its task was cancelled) still lets them go.  Errors wait for ``loads``:
        # they belong to this result, not to the message's reader.
        try:
            from corepool.shared.memory import Segment

            blob.keep_alive = tuple(Segment.receive(name, janitor) for name, _ in where)
        except Exception as error:  # noqa: BLE001 - reported by loads(), for this result only
            blob.failure = error
    return blob


def _blob(
    payload: bytes,
    where: tuple[tuple[str, int], ...],
    janitor: str,
    result: bool,
    keep_alive: tuple[object, ...],
) -> SegmentPickle:
    blob = SegmentPickle(payload)
    blob.segments, blob.janitor, blob.result = where, janitor, result
    blob.keep_alive, blob.failure, blob.outgoing = keep_alive, None, ()
    blob.offsets = ()
    return blob


def _pickle_with(
    value: object, by_value: bool, keep: Callable[[pickle.PickleBuffer], bool]
) -> bytes:
    if not by_value:
        try:
            return pickle.dumps(value, _PROTOCOL, buffer_callback=keep)
        except Exception:  # noqa: BLE001 - any failure: let cloudpickle try (and report)
            pass
    import cloudpickle

    return bytes(cloudpickle.dumps(value, _PROTOCOL, buffer_callback=keep))


def _large_buffers(value: object, by_value: bool) -> tuple[bytes, list[pickle.PickleBuffer]]:
    found: list[pickle.PickleBuffer] = []

    def keep_in_band(buffer: pickle.PickleBuffer) -> bool:
        if buffer.raw().nbytes < LARGE_BUFFER_BYTES:
            return True
        found.append(buffer)
        return False

    payload = _pickle_with(value, by_value, keep_in_band)
    return payload, found


def _copy_to_segment(data: memoryview, waiting_caller: int | None = None) -> tuple[Segment, int]:
    """A segment holding ``data``, and where in it ``data`` starts (``dumps_arguments``)."""
    # Reserved: a full /dev/shm is an OSError here (the caller falls back to the pickle), never
    # a SIGBUS in a process that touches the memory later.
    from corepool.shared.memory import Segment

    layout = None
    if waiting_caller is not None and data.nbytes >= IN_PLACE_BYTES:
        from corepool.shared import _in_place  # with ctypes (~2 ms): only for a large array

        layout = _in_place.layout(data, waiting_caller)
    if layout is None:
        return Segment.create(data.nbytes, reserve=True, content=data), 0
    content = memoryview(layout.content).cast("B")
    segment = Segment.create(content.nbytes, reserve=True, content=content, copied=layout.remap)
    return segment, layout.offset


# ------------------------------------------------------------------------------ arguments

# id(exporting object) -> (weak ref to it, weak ref to its segment, where the buffer starts in it)
_argument_cache: dict[int, tuple[weakref.ref[Any], weakref.ref[Segment], int]] = {}


def _argument_segment(
    buffer: pickle.PickleBuffer, waiting_caller: int | None
) -> tuple[Segment, int]:
    """The segment for this buffer, and where the buffer starts in it: made once per exporting
    object while chunks still need it."""
    data = buffer.raw()
    source = data.obj
    cached = _argument_cache.get(id(source))
    if cached is not None:
        owner, segment, offset = cached[0](), cached[1](), cached[2]
        if owner is source and segment is not None and segment.size - offset == data.nbytes:
            return segment, offset
    segment, offset = _copy_to_segment(data, waiting_caller)
    key = id(source)
    try:
        source_ref = weakref.ref(source, partial(_forget_argument, key))
    except TypeError:  # an exporter without weak references: no reuse
        return segment, offset
    _argument_cache[key] = (source_ref, weakref.ref(segment), offset)
    return segment, offset


def _forget_argument(key: int, _: object) -> None:
    _argument_cache.pop(key, None)


def dumps_arguments(
    value: object, waiting_caller: int | None = None, by_value: bool = False
) -> bytes:
    """Pickle call items; buffers of ``LARGE_BUFFER_BYTES`` or more go to parent-held segments.

    ``waiting_caller``: the thread that waits for the whole call.  When no other thread but
    corepool's runs, nothing can write the items' arrays meanwhile, and a large one is shared
    where it lies (``_in_place``)."""
    payload, found = _large_buffers(value, by_value)
    if not found:
        return payload
    try:
        placed = [_argument_segment(buffer, waiting_caller) for buffer in found]
    except OSError:  # no room in shared memory: the buffers travel in the pickle
        return _pickle_with(value, by_value, lambda _: True)
    held = tuple(segment for segment, _ in placed)
    where = tuple((segment.name, segment.size) for segment in held)
    blob = _blob(payload, where, held[0].janitor, False, held)
    if any(offset for _, offset in placed):
        blob.offsets = tuple(offset for _, offset in placed)
    return blob


# -------------------------------------------------------------------------------- results


def dumps_result(value: object) -> bytes:
    """Pickle a result in a worker; large buffers go to segments the parent will receive."""
    payload, found = _large_buffers(value, False)
    if not found:
        return payload
    made: list[Segment] = []
    try:
        for buffer in found:
            made.append(_copy_to_segment(buffer.raw())[0])
    except OSError:  # no room in shared memory: the buffers travel in the pickle
        for segment in made:
            segment.close()
        return _pickle_with(value, False, lambda _: True)
    where = tuple((segment.name, segment.size) for segment in made)
    blob = _blob(payload, where, made[0].janitor, True, ())
    blob.outgoing = tuple(made)
    return blob


# ---------------------------------------------------------------------------- receiving


def loads(blob: bytes | bytearray | memoryview) -> Any:
    """Unpickle a blob from ``dumps_arguments`` / ``dumps_result`` (or a plain pickle)."""
    argument_maps = sys.modules.get(_ARGUMENT_MAPS)
    if argument_maps is not None:  # kept mappings exist only once one was made
        argument_maps.prune()
    if not isinstance(blob, SegmentPickle):
        return pickle.loads(blob)
    if blob.failure is not None:
        raise blob.failure
    if blob.result:
        from corepool.shared.memory import Segment

        buffers = [
            segment.buf[:size]
            for segment, (_, size) in zip(blob.keep_alive, blob.segments, strict=True)
            if isinstance(segment, Segment)
        ]
    else:
        from corepool.shared import _argument_maps

        offsets = blob.offsets or (0,) * len(blob.segments)
        buffers = [
            _argument_maps.view(name, size, offset)
            for (name, size), offset in zip(blob.segments, offsets, strict=True)
        ]
    return pickle.loads(blob, buffers=buffers)
