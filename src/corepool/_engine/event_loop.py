"""The event loop under the dispatcher: one ``epoll`` for channels, sentinels, wake-ups and timers.

    other threads ── call_soon_threadsafe ─▶ ready queue + one byte on the wake-up pipe ─┐
    worker channels, process sentinels ── add_reader / add_writer ───────────────────────┤
    timers (delays, timeouts, grace periods) ── call_later ─▶ heap ── select timeout ────┤
                                                                                          ▼
                     run_forever: select ─▶ due timers and ready fds ─▶ callbacks, in order

The subset of ``asyncio``'s loop API that the engine uses (``add_reader``, ``remove_reader``,
``add_writer``, ``remove_writer``, ``call_soon``, ``call_soon_threadsafe``, ``call_later``,
``run_forever``, ``stop``, ``close``, an exception handler), with the same semantics, and nothing
else: no coroutines, futures, transports or signal handling.  Importing ``asyncio`` (with ``ssl``
and the rest) took ~15 ms of the ~68 ms that ``import corepool; corepool.Pool`` cost, for machinery
the dispatcher never used.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import os
import selectors
import threading
import time
from collections.abc import Callable
from typing import Any

ExceptionHandler = Callable[["EventLoop", dict[str, Any]], None]


class Handle:
    """A callback waiting to run; ``cancel()`` makes it a no-op."""

    __slots__ = ("_args", "_callback", "cancelled")

    def __init__(self, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._callback: Callable[..., object] | None = callback
        self._args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self._callback, self._args = None, ()  # let go of what the callback holds

    def _run(self, loop: EventLoop) -> None:
        callback = self._callback
        if callback is None:
            return
        try:
            callback(*self._args)
        except Exception as error:  # noqa: BLE001 - reported, the loop goes on (as asyncio)
            loop._report(f"exception in callback {callback!r}", error)


class TimerHandle(Handle):
    __slots__ = ("when",)

    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]):
        super().__init__(callback, args)
        self.when = when


class EventLoop:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._ready: collections.deque[Handle] = collections.deque()
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._order = itertools.count()
        self._stopping = False
        self._closed = False
        self._polling = False
        """True from just before the loop looks at its ready queue to just after it waited: a
        handle added meanwhile needs a wake-up byte; one added outside it is seen anyway.  A
        busy dispatcher (chunksize=1000: ~2,000 hand-overs a second) then skips a write and a
        read per hand-over, each a GIL release and reacquisition."""
        self._woken = False
        """A wake-up byte was written since the loop last started to look: one is enough."""
        self._handler: ExceptionHandler | None = None
        self._round_end: list[Callable[[], object]] = []
        self._wake_read, self._wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        # Held while another thread writes a wake-up and while the loop closes: a write must
        # never reach the descriptor number after close() (it may by then name another file).
        self._closing_lock = threading.Lock()
        self._selector.register(self._wake_read, selectors.EVENT_READ, [None, None])

    # -- scheduling

    def call_soon(self, callback: Callable[..., object], *args: Any) -> Handle:
        handle = Handle(callback, args)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> Handle:
        if self._closed:
            raise RuntimeError("the event loop is closed")
        # A handle added as the loop closes is dropped with the others (``close``).
        handle = self.call_soon(callback, *args)  # deque.append is atomic
        # Else the loop sees the handle before it next waits, or a wake-up is on its way.  The
        # lock is taken only to write: 64 worker threads posting at once queued on it behind
        # each other's writes, each of which then waited for the GIL (~6 ms, benchmarks/sleep).
        if self._polling and not self._woken:
            self._wake()
        return handle

    def _wake(self) -> None:
        with self._closing_lock:
            if self._closed or self._woken:  # as the lock was awaited
                return
            self._woken = True
            try:
                os.write(self._wake_write, b"\0")
            except BlockingIOError:  # the pipe is full of wake-ups already: the loop will wake
                pass

    def at_end_of_round(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the callbacks ready in this round have run, before the loop
        waits again (not thread-safe: for callbacks running in this round).  Lets work that
        many callbacks of one round produce be done once: the frames for one worker go out in
        one system call instead of one each (~20 µs a ``send`` on this machine)."""
        self._round_end.append(callback)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        timer = TimerHandle(time.monotonic() + max(0.0, delay), callback, args)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    # -- file descriptors

    def add_reader(self, fd: int, callback: Callable[..., object], *args: Any) -> None:
        self._watch(fd, 0, Handle(callback, args))

    def add_writer(self, fd: int, callback: Callable[..., object], *args: Any) -> None:
        self._watch(fd, 1, Handle(callback, args))

    def remove_reader(self, fd: int) -> bool:
        return self._unwatch(fd, 0)

    def remove_writer(self, fd: int) -> bool:
        return self._unwatch(fd, 1)

    def _watch(self, fd: int, side: int, handle: Handle) -> None:
        try:
            key = self._selector.get_key(fd)
        except KeyError:
            handles: list[Handle | None] = [None, None]
            handles[side] = handle
            self._selector.register(fd, _events(handles), handles)
            return
        handles = key.data
        replaced = handles[side]
        if replaced is not None:
            replaced.cancel()
        handles[side] = handle
        self._selector.modify(fd, _events(handles), handles)

    def _unwatch(self, fd: int, side: int) -> bool:
        try:
            key = self._selector.get_key(fd)
        except (KeyError, ValueError):
            return False
        handles = key.data
        handle = handles[side]
        if handle is None:
            return False
        handle.cancel()  # a callback already made ready for this fd must not run any more
        handles[side] = None
        if handles[1 - side] is None:
            self._selector.unregister(fd)
        else:
            self._selector.modify(fd, _events(handles), handles)
        return True

    # -- running

    def run_forever(self) -> None:
        self._stopping = False
        while not self._stopping:
            self._run_once()

    def stop(self) -> None:
        """Return from ``run_forever`` once the callbacks ready now have run."""
        self._stopping = True

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._closing_lock:
            if self._closed:
                return
            self._closed = True
            self._ready.clear()
            self._timers.clear()
            self._round_end.clear()
            self._selector.close()
            os.close(self._wake_read)
            os.close(self._wake_write)

    def set_exception_handler(self, handler: ExceptionHandler | None) -> None:
        self._handler = handler

    def _run_once(self) -> None:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        self._woken = False
        self._polling = True  # before looking at _ready: see __init__
        if self._ready or self._stopping:
            timeout: float | None = 0.0
        elif timers:
            timeout = max(0.0, timers[0][0] - time.monotonic())
        else:
            timeout = None
        events = self._selector.select(timeout)
        self._polling = False
        for key, mask in events:
            reader, writer = key.data
            if key.fd == self._wake_read:
                self._drain_wake_ups()
                continue
            if mask & selectors.EVENT_READ and reader is not None:
                self._ready.append(reader)
            if mask & selectors.EVENT_WRITE and writer is not None:
                self._ready.append(writer)
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            timer = heapq.heappop(timers)[2]
            if not timer.cancelled:
                self._ready.append(timer)
        # Only what is ready now: callbacks scheduled by these run in the next round.
        for _ in range(len(self._ready)):
            self._ready.popleft()._run(self)
        if self._round_end:
            self._end_round()

    def _end_round(self) -> None:
        ending, self._round_end = self._round_end, []
        for callback in ending:
            Handle(callback, ())._run(self)

    def _drain_wake_ups(self) -> None:
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass

    def _report(self, message: str, error: BaseException) -> None:
        if self._handler is not None:
            self._handler(self, {"message": message, "exception": error})


def _events(handles: list[Handle | None]) -> int:
    return (selectors.EVENT_READ if handles[0] is not None else 0) | (
        selectors.EVENT_WRITE if handles[1] is not None else 0
    )
