"""Length-prefixed frames over a stream socket.

Each frame is an 8-byte little-endian length followed by that many bytes.  The worker side blocks
(``read_frame``/``write_frame``); the parent side never blocks: ``FrameReader`` takes whatever the
socket has and returns the frames it completes, ``FrameWriter`` keeps what the socket could not take
yet.  The parent must never block on a worker's socket, or a worker blocked writing a large result
while the parent is blocked writing a large call would deadlock both.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from itertools import islice

_HEADER = struct.Struct("<Q")
HEADER_SIZE = _HEADER.size
# Below this size the header and body go out in one send: one syscall instead of two.
_COALESCE_BELOW = 64 * 1024
# Frames handed to one ``sendmsg`` at most (Linux takes up to 1,024 buffers a call).
_GATHER_AT_MOST = 64
_GATHERS = hasattr(socket.socket, "sendmsg")
_READ_SIZE = 256 * 1024
# A reader's buffer starts this small and grows up to _READ_SIZE when reads fill it or a frame
# needs more: a fresh 256 KB buffer costs 64 page faults, ~0.7 ms on this machine's VM, paid for
# every worker started (64 workers: 45 ms of the parent's time; benchmarks/start_many), while a
# pool whose messages stay small never needs more.
_FIRST_READ_SIZE = 16 * 1024


class ChannelClosed(EOFError):
    """The other end of a channel went away."""


def write_frame(sock: socket.socket, body: bytes) -> None:
    """Send one frame, blocking until the socket took all of it."""
    if len(body) < _COALESCE_BELOW:
        sock.sendall(_HEADER.pack(len(body)) + body)
    else:
        sock.sendall(_HEADER.pack(len(body)))
        sock.sendall(body)


def read_frame(sock: socket.socket) -> bytearray:
    """Receive one frame, blocking; raises ChannelClosed at end of stream."""
    header = _recv_exactly(sock, HEADER_SIZE)
    (size,) = _HEADER.unpack(header)
    return _recv_exactly(sock, size)


def _recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = sock.recv_into(view[received:])
        if count == 0:
            raise ChannelClosed("channel closed")
        received += count
    return buffer


class FrameReader:
    """Reassembles frames from a non-blocking socket.

    Reads go into one buffer kept for the reader's life (``recv_into``), never into a fresh
    ``recv(size)``: asking for 256 KB made glibc map fresh pages for every read and unmap them once
    the bytes object shrank to the message, three system calls and page faults per message, and
    each unmap interrupts every other core running a thread of the parent (a TLB shootdown).
    With chunksize=1000 that was ~2,000 reads a second (strace of the parent during
    benchmarks/imap_chunksize: 2,001 mmap, 2,000 mremap, 2,001 munmap).  The rest of a frame
    larger than the buffer is still read in one ``recv``: for a large result the mapping is paid
    once, and the bytes are copied only once.  The buffer starts small and grows as needed.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._view = memoryview(bytearray(_FIRST_READ_SIZE))

    def read_available(self, sock: socket.socket) -> tuple[list[bytes], bool]:
        """Read what the socket holds now.

        Returns the frames completed (maybe none) and whether the peer closed the stream.
        """
        closed = False
        while True:
            missing = self._missing()
            room = len(self._view)
            if room < min(missing, _READ_SIZE):
                room = self._grow(missing)
            try:
                if missing > room:  # the rest of a large frame: one read, one copy
                    data = sock.recv(missing)
                    count = len(data)
                    self._pending += data
                else:
                    count = sock.recv_into(self._view)
                    self._pending += self._view[:count]
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionResetError:
                closed = True
                break
            if not count:
                closed = True
                break
            if count < room:
                break
            if room < _READ_SIZE:  # the socket holds more than the buffer took
                self._grow(room * 2)
        return self._split_frames(), closed

    def _grow(self, wanted: int) -> int:
        size = min(_READ_SIZE, max(wanted, 2 * len(self._view)))
        self._view = memoryview(bytearray(size))
        return size

    def _missing(self) -> int:
        if len(self._pending) < HEADER_SIZE:
            return 0
        size: int = _HEADER.unpack_from(self._pending)[0]
        return HEADER_SIZE + size - len(self._pending)

    def _split_frames(self) -> list[bytes]:
        frames: list[bytes] = []
        offset = 0
        pending = self._pending
        with memoryview(pending) as view:
            while len(pending) - offset >= HEADER_SIZE:
                (size,) = _HEADER.unpack_from(pending, offset)
                end = offset + HEADER_SIZE + size
                if end > len(pending):
                    break
                frames.append(bytes(view[offset + HEADER_SIZE : end]))
                offset = end
        if offset:
            del pending[:offset]
        return frames


class FrameWriter:
    """Queues frames for a non-blocking socket and sends as much as it will take."""

    def __init__(self) -> None:
        self._queue: deque[memoryview] = deque()

    @property
    def has_pending(self) -> bool:
        return bool(self._queue)

    def add(self, body: bytes) -> None:
        header = _HEADER.pack(len(body))
        if len(body) < _COALESCE_BELOW:
            self._queue.append(memoryview(header + body))
        else:
            self._queue.append(memoryview(header))
            self._queue.append(memoryview(body))

    def write_available(self, sock: socket.socket) -> bool:
        """Send queued bytes until done or the socket is full; True when nothing is left.

        Several queued frames go out in one ``sendmsg`` (gathered, not copied together)."""
        queue = self._queue
        while queue:
            try:
                if len(queue) == 1 or not _GATHERS:
                    sent = sock.send(queue[0])
                else:
                    sent = sock.sendmsg(list(islice(queue, _GATHER_AT_MOST)))
            except (BlockingIOError, InterruptedError):
                return False
            except (BrokenPipeError, ConnectionResetError) as error:
                raise ChannelClosed(str(error)) from error
            if sent == 0:
                return False  # took nothing: wait until the socket is writable
            while sent:
                head = queue[0]
                if sent < len(head):
                    queue[0] = head[sent:]
                    return False  # the socket took only part: it is full
                sent -= len(head)
                queue.popleft()
        return True
