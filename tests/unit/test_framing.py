"""Frames over a non-blocking socket: every size arrives whole and in order, whatever the reader's
buffer size was when it started (it starts small and grows), and a closed peer is reported."""

from __future__ import annotations

import os
import selectors
import socket
import threading

import pytest

from corepool._wire import framing
from corepool._wire.framing import FrameReader, FrameWriter, write_frame

pytestmark = pytest.mark.timeout(60)

SIZES = [0, 1, 100, 16 * 1024 - 8, 16 * 1024, 40_000, 200_000, 300_000, 3_000_000, 5]


def _frames() -> list[bytes]:
    return [os.urandom(size) for size in SIZES]


def _read_all(reader: FrameReader, sock: socket.socket, count: int) -> list[bytes]:
    received: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        while len(received) < count:
            selector.select(timeout=10)
            frames, closed = reader.read_available(sock)
            received += frames
            if closed:
                break
    return received


def test_frames_of_every_size_arrive_whole_and_in_order() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sent = _frames()

    def send() -> None:
        for body in sent:
            write_frame(theirs, body)

    writer = threading.Thread(target=send)
    writer.start()
    reader = FrameReader()
    received = _read_all(reader, ours, len(sent))
    writer.join()
    assert received == sent
    # The buffer grew for the large frames, but never past its cap.
    assert framing._FIRST_READ_SIZE < len(reader._view) <= framing._READ_SIZE
    ours.close()
    theirs.close()


def test_a_reader_of_small_frames_keeps_its_small_buffer() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sent = [os.urandom(500) for _ in range(10)]
    reader = FrameReader()
    received: list[bytes] = []
    for body in sent:
        write_frame(theirs, body)
        received += _read_all(reader, ours, 1)
    assert received == sent
    assert len(reader._view) == framing._FIRST_READ_SIZE
    ours.close()
    theirs.close()


def test_the_nonblocking_writer_and_reader_together_and_a_closed_peer() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    sent = _frames()
    writer = FrameWriter()
    for body in sent:
        writer.add(body)
    reader = FrameReader()
    received: list[bytes] = []
    with selectors.DefaultSelector() as selector:
        selector.register(ours, selectors.EVENT_READ)
        while writer.has_pending or len(received) < len(sent):
            if writer.has_pending:
                writer.write_available(theirs)
            selector.select(timeout=0.1)
            received += reader.read_available(ours)[0]
    assert received == sent
    theirs.close()
    frames, closed = _read_closed(reader, ours)
    assert (frames, closed) == ([], True)
    ours.close()


def _read_closed(reader: FrameReader, sock: socket.socket) -> tuple[list[bytes], bool]:
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        selector.select(timeout=10)
        return reader.read_available(sock)


class _SmallSocket:
    """Takes at most ``room`` bytes a call, and records how it was called."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.received = bytearray()
        self.calls: list[tuple[str, int]] = []

    def _take(self, buffers: list[memoryview]) -> int:
        taken = 0
        for buffer in buffers:
            part = bytes(buffer[: self.room - taken])
            self.received += part
            taken += len(part)
            if taken == self.room:
                break
        if taken == 0:
            raise BlockingIOError
        return taken

    def send(self, buffer: memoryview) -> int:
        self.calls.append(("send", 1))
        return self._take([buffer])

    def sendmsg(self, buffers: list[memoryview]) -> int:
        self.calls.append(("sendmsg", len(buffers)))
        return self._take(buffers)


def _unframe(data: bytes) -> list[bytes]:
    frames, position = [], 0
    while position < len(data):
        (size,) = framing._HEADER.unpack_from(data, position)
        position += framing.HEADER_SIZE
        frames.append(data[position : position + size])
        position += size
    return frames


def test_queued_frames_go_out_together_and_a_partial_send_keeps_the_rest() -> None:
    bodies = [bytes([index]) * (index * 7) for index in range(100)]
    writer = FrameWriter()
    for body in bodies:
        writer.add(body)
    # Each call fills the socket: the writer stops there, and resumes on the next call (the
    # peer has read it all by then).
    sock = _SmallSocket(room=4096)
    total = sum(framing.HEADER_SIZE + len(body) for body in bodies)
    for _ in range(total // sock.room):
        assert not writer.write_available(sock)  # type: ignore[arg-type]
    assert writer.write_available(sock)  # type: ignore[arg-type]
    assert _unframe(bytes(sock.received)) == bodies
    assert all(kind == "sendmsg" for kind, _ in sock.calls[:-1])
    assert len(sock.calls) <= total // sock.room + 2  # gathered, not a call per frame
    assert max(count for _, count in sock.calls) <= framing._GATHER_AT_MOST


def test_a_writer_with_one_frame_sends_it_plainly() -> None:
    writer = FrameWriter()
    writer.add(b"alone")
    sock = _SmallSocket(room=1 << 20)
    assert writer.write_available(sock)  # type: ignore[arg-type]
    assert sock.calls == [("send", 1)]
    assert _unframe(bytes(sock.received)) == [b"alone"]
