"""Messages between parent and worker travel as plain tuples (``_wire/codec.py``).

Each kind of message comes back equal to what was sent, field by field and with its own type;
the messages sent for every chunk (``Call``, ``Done``) pickle without a single class reference,
so that pickle reads and writes them in C (no ``NamedTuple`` or enum code runs per chunk).
"""

from __future__ import annotations

import pickle
import pickletools

import pytest

from corepool._wire import codec
from corepool._wire.messages import (
    Call,
    CallStyle,
    CallUnreadable,
    Done,
    FunctionDef,
    FunctionRef,
    FunctionUnreadable,
    InitFailed,
    PackedItems,
    Ready,
    Stop,
)
from corepool._wire.remote_error import Stage, capture

ITEMS = PackedItems(3, pickle.dumps([1, None, 3]), {1: pickle.dumps("isolated")})
ERROR = capture(ValueError("bad item"), Stage.RUN)

TO_WORKER = [
    Call(7, FunctionRef(2), CallStyle.ONE, ITEMS),
    Call(8, FunctionDef(3, b"function pickle"), CallStyle.STAR, ITEMS, (1, 2), True),
    Call(9, FunctionRef(4), CallStyle.APPLY, PackedItems(1, None, {0: b"x"}), (), False),
    Stop(),
    Stop("recycle"),
]
FROM_WORKER = [
    Done(7, ITEMS, {}, 0.25),
    Done(8, PackedItems(2, b"bulk"), {1: ERROR}, 0.5, 1 << 30, 0.4, 0.001, 0.02),
    Ready(1234),
    InitFailed(ERROR),
    CallUnreadable(9, ERROR),
    FunctionUnreadable(10, ERROR),
]


@pytest.mark.parametrize("message", TO_WORKER, ids=repr)
def test_messages_to_a_worker_come_back_as_sent(message: Call | Stop) -> None:
    received = codec.loads_to_worker(codec.dumps_to_worker(message))
    assert received == message
    assert type(received) is type(message)
    if isinstance(message, Call):
        assert isinstance(received, Call)
        assert type(received.function) is type(message.function)
        assert type(received.items) is PackedItems
        assert received.style is message.style


@pytest.mark.parametrize("message", FROM_WORKER, ids=repr)
def test_messages_from_a_worker_come_back_as_sent(message: object) -> None:
    received = codec.loads_from_worker(codec.dumps_from_worker(message))  # type: ignore[arg-type]
    assert received == message
    assert type(received) is type(message)
    if isinstance(message, Done):
        assert isinstance(received, Done)
        assert type(received.results) is PackedItems


def _class_references(frame: bytes) -> list[str]:
    return [
        f"{opcode.name} {argument}"
        for opcode, argument, _ in pickletools.genops(frame)
        if opcode.name in {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "NEWOBJ", "REDUCE"}
    ]


def test_what_every_chunk_sends_pickles_without_class_references() -> None:
    assert _class_references(codec.dumps_call(TO_WORKER[0])) == []
    assert _class_references(codec.dumps_call(TO_WORKER[1])) == []
    assert _class_references(codec.dumps_from_worker(FROM_WORKER[0])) == []
