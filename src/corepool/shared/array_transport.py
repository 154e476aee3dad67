"""Large buffers of task arguments and results travel through shared memory, not the channel.

Pickle protocol 5 hands every buffer an object exposes (a contiguous NumPy array, for one) to a
``buffer_callback``; the ones of at least ``LARGE_BUFFER_BYTES`` are kept out of the pickle and
put in segments (``segments``).  The pickle then travels as a ``SegmentPickle``: the small pickle
plus where its buffers are.  NumPy is never imported here.

    arguments (parent ─▶ worker)                       results (worker ─▶ parent)
    ────────────────────────────                       ──────────────────────────
    parent: pack_call_items ─ dumps_arguments          worker: pack_results ─ dumps_result
      each large buffer copied ONCE into a segment       each large buffer copied into an unnamed
      of the parent's spool; the same array passed       file, named in the PARENT's spool when
      to many tasks reuses it (by identity)              complete (the parent owns it from then)
    worker: unpack_call_items ─ loads                  parent: the Done message is unpickled ─
      maps each segment private (copy-on-write):         a finalizer removes the files unless...
      no copy, and writes stay the task's own          parent: unpack_results ─ loads
                                                         ...adopts them: maps each one, removes
    parent: the segment is removed when the last         its name; the array owns the memory
      chunk referring to it is gone (a finalizer on
      ArgumentSegment), or the parent's spool goes

So nothing is left: an argument segment lives as long as a chunk that needs it (at most until the
parent exits or dies); a result file lives from the moment it is complete until the parent
unpickles the message (or drops it).  A worker killed between naming a result and sending it
(microseconds) leaves the file to the parent's spool, removed when the parent exits.

Arrays smaller than the threshold, non-contiguous arrays (NumPy pickles those in-band), and
everything when no shared-memory spool can be made, travel in the pickle as before.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

from corepool.shared import segments
from corepool.shared._spool import spool_directory, spool_of

__all__ = ["LARGE_BUFFER_BYTES", "SegmentPickle", "dumps_arguments", "dumps_result", "loads"]

LARGE_BUFFER_BYTES = 1 << 20
"""Buffers of at least this many bytes travel through shared memory.  Below ~1 MiB the channel
is as fast as making, mapping and removing a segment (benchmarks/results/numpy.md)."""

_PROTOCOL = 5


class SegmentPickle(bytes):
    """A pickle whose large buffers are in segments; travels as the pickle plus the segments."""

    segments: tuple[tuple[str, int], ...]
    """(path, size) of each out-of-band buffer, in the pickle's order."""
    adopt: bool
    """Results: the receiving process takes the files over (maps them, removes their names)."""
    keep_alive: tuple[object, ...]
    """In the parent: the argument segments this pickle needs (they are removed after it)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (bytes(self), self.segments, self.adopt))


class _UnadoptedFiles:
    """Result files a received message names: removed when the message goes, adopted or not."""

    def __init__(self, paths: list[str]) -> None:
        weakref.finalize(self, _unlink_all, paths)


def _rebuild(payload: bytes, where: tuple[tuple[str, int], ...], adopt: bool) -> SegmentPickle:
    blob = SegmentPickle(payload)
    blob.segments, blob.adopt, blob.keep_alive = where, adopt, ()
    if adopt:  # if this message is dropped before it is unpickled, its files go with it
        blob.keep_alive = (_UnadoptedFiles([path for path, _ in where]),)
    return blob


def _unlink_all(paths: list[str]) -> None:
    for path in paths:
        segments.unlink_segment(path)


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


# ------------------------------------------------------------------------------ arguments

_spool_ready = False


def _make_spool_for_results() -> None:
    """Workers hand large results over in the parent's spool: make it before the first task.

    Only once NumPy is loaded (the usual exporter of large buffers): a pool of a program that
    never touches NumPy starts no spool watcher.  (~1 ms, once per process.)
    """
    global _spool_ready
    _spool_ready = True
    try:
        spool_directory()
    except OSError:
        pass  # no shared memory here: results travel in the pickle


class ArgumentSegment:
    """A parent-owned segment holding one argument buffer; removed when this object is."""

    def __init__(self, data: memoryview) -> None:
        self.nbytes = data.nbytes
        self.path = segments.write_segment(data, "argument")
        weakref.finalize(self, segments.unlink_segment, self.path)


# id(exporting object) -> (weak ref to it, weak ref to its segment)
_argument_cache: dict[int, tuple[weakref.ref[Any], weakref.ref[ArgumentSegment]]] = {}


def _argument_segment(buffer: pickle.PickleBuffer) -> ArgumentSegment:
    """The segment for this buffer: made once per exporting object while chunks still need it."""
    data = buffer.raw()
    source = data.obj
    cached = _argument_cache.get(id(source))
    if cached is not None:
        owner, segment = cached[0](), cached[1]()
        if owner is source and segment is not None and segment.nbytes == data.nbytes:
            return segment
    segment = ArgumentSegment(data)
    key = id(source)
    try:
        source_ref = weakref.ref(source, partial(_forget_argument, key))
    except TypeError:  # an exporter without weak references: no reuse
        return segment
    _argument_cache[key] = (source_ref, weakref.ref(segment))
    return segment


def _forget_argument(key: int, _: object) -> None:
    _argument_cache.pop(key, None)


def dumps_arguments(value: object, by_value: bool = False) -> bytes:
    """Pickle call items; buffers of ``LARGE_BUFFER_BYTES`` or more go to parent-owned segments."""
    if not _spool_ready and "numpy" in sys.modules:
        _make_spool_for_results()
    payload, found = _large_buffers(value, by_value)
    if not found:
        return payload
    try:
        held = tuple(_argument_segment(buffer) for buffer in found)
    except OSError:  # no room in shared memory: the buffers travel in the pickle
        return _pickle_with(value, by_value, lambda _: True)
    blob = SegmentPickle(payload)
    blob.segments = tuple((segment.path, segment.nbytes) for segment in held)
    blob.adopt, blob.keep_alive = False, held
    return blob


# -------------------------------------------------------------------------------- results


def dumps_result(value: object) -> bytes:
    """Pickle a result in a worker; large buffers go to segments in the parent's spool."""
    payload, found = _large_buffers(value, False)
    if not found:
        return payload
    parent = multiprocessing.parent_process()
    directory = spool_of(parent.pid) if parent is not None and parent.pid is not None else None
    paths: list[str] = []
    try:
        if directory is None:
            raise FileNotFoundError("the parent has no shared-memory spool")
        for buffer in found:
            data = buffer.raw()
            paths.append(segments.publish_segment(data, directory))
    except OSError:
        _unlink_all(paths)
        return _pickle_with(value, False, lambda _: True)
    blob = SegmentPickle(payload)
    sizes = [buffer.raw().nbytes for buffer in found]
    blob.segments = tuple(zip(paths, sizes, strict=True))
    blob.adopt, blob.keep_alive = True, ()
    return blob


# ---------------------------------------------------------------------------- receiving


def loads(blob: bytes | bytearray | memoryview) -> Any:
    """Unpickle a blob from ``dumps_arguments`` / ``dumps_result`` (or a plain pickle)."""
    if not isinstance(blob, SegmentPickle):
        return pickle.loads(blob)
    if blob.adopt:
        buffers = [
            memoryview(segments.adopt_segment(path, size))[:size] for path, size in blob.segments
        ]
    else:
        buffers = [
            memoryview(segments.map_segment(path, size, "private"))[:size]
            for path, size in blob.segments
        ]
    return pickle.loads(blob, buffers=buffers)
