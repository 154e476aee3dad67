"""Messages to and from a worker as plain tuples, so that pickle handles them entirely in C.

A message, a ``Record`` (``_record.py``), pickles through Python-level code on both sides
(``__getnewargs__`` when pickled, its ``__new__`` when unpickled; an enum member through
``Enum.__reduce_ex__``): a
``Call`` with its nested ``FunctionRef`` and ``PackedItems`` took ~15 µs to pickle and ~10 µs to
unpickle, and a ``Done`` as much the other way; a flat tuple of the same fields ~1.5 µs.  Every
chunk pays that four times, in the parent's loop thread and in the worker, which with
``chunksize=1`` or long single tasks is most of what a chunk costs besides the work itself.

The tuple starts with the message's kind; the receiver rebuilds the records with
``tuple.__new__`` (C, no Python-level ``__new__``), so the rest of corepool still reads fields by
name.  Messages that are rare (``Stop``, ``Ready``, errors) travel the same way, unflattened.
"""

from __future__ import annotations

import pickle
from typing import Any

from corepool._wire.messages import (
    Call,
    CallStyle,
    CallUnreadable,
    Done,
    FromWorker,
    FunctionDef,
    FunctionRef,
    FunctionUnreadable,
    InitFailed,
    PackedItems,
    Ready,
    Stop,
    ToWorker,
)

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_new = tuple.__new__
_STYLES = tuple(sorted(CallStyle, key=int))  # CallStyle by value, without the enum's __call__

# The first field of every message on the wire.
_CALL, _CALL_BY_VALUE, _DONE = 0, 1, 2
_PLAIN: tuple[type[Any], ...] = (Stop, Ready, InitFailed, CallUnreadable, FunctionUnreadable)
_PLAIN_KIND = {cls: 3 + index for index, cls in enumerate(_PLAIN)}


def dumps_call(call: Call) -> bytes:
    function, items = call.function, call.items
    if isinstance(function, FunctionRef):
        head: tuple[Any, ...] = (_CALL, call.chunk_id, function.token)
    else:
        head = (_CALL_BY_VALUE, call.chunk_id, function.token, function.blob)
    fields = (int(call.style), items.size, items.bulk, items.isolated, call.forget)
    return pickle.dumps((*head, *fields, call.track_start_times), _PROTOCOL)


def dumps_to_worker(message: ToWorker) -> bytes:
    if type(message) is Call:
        return dumps_call(message)
    return _dumps_plain(message)


def loads_to_worker(frame: bytes | bytearray | memoryview) -> ToWorker:
    raw = pickle.loads(frame)
    kind = raw[0]
    if kind == _CALL:
        function: FunctionDef | FunctionRef = _new(FunctionRef, (raw[2],))
        rest = raw[3:]
    elif kind == _CALL_BY_VALUE:
        function = _new(FunctionDef, (raw[2], raw[3]))
        rest = raw[4:]
    else:
        message: ToWorker = _loads_plain(raw)
        return message
    style, size, bulk, isolated, forget, track = rest
    items = _new(PackedItems, (size, bulk, isolated))
    call: Call = _new(Call, (raw[1], function, _STYLES[style], items, forget, track))
    return call


def dumps_from_worker(message: FromWorker) -> bytes:
    if type(message) is Done:
        results = message.results
        fields = (results.size, results.bulk, results.isolated, message.errors, *message[3:])
        return pickle.dumps((_DONE, message.chunk_id, *fields), _PROTOCOL)
    return _dumps_plain(message)


def loads_from_worker(frame: bytes | bytearray | memoryview) -> FromWorker:
    raw = pickle.loads(frame)
    if raw[0] != _DONE:
        message: FromWorker = _loads_plain(raw)
        return message
    results = _new(PackedItems, raw[2:5])
    done: Done = _new(Done, (raw[1], results, *raw[5:]))
    return done


def _dumps_plain(message: tuple[Any, ...]) -> bytes:
    return pickle.dumps((_PLAIN_KIND[type(message)], *message), _PROTOCOL)


def _loads_plain(raw: tuple[Any, ...]) -> Any:
    return _new(_PLAIN[raw[0] - 3], raw[1:])
