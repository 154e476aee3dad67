"""The dispatcher's thread: an event loop (``event_loop.py``) that waits on everything at once.

Worker channels, worker sentinels (a pipe that becomes readable when a process exits), the
self-pipe that other threads use to hand over work (``call_soon_threadsafe``) and the timers for
delays and timeouts are all waited on together in one ``epoll``; nothing polls.  Only this
thread touches the dispatcher's state, so that state needs no locks.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from corepool import _log
from corepool._engine.event_loop import EventLoop

_T = TypeVar("_T")


class LoopThread:
    def __init__(self, name: str, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.loop = EventLoop()
        self._on_error = on_error
        self.loop.set_exception_handler(self._report)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        # A waiting caller's reply box: (True, result) or (False, error), put once by the loop
        # thread (a SimpleQueue rather than a concurrent.futures.Future, which would cost the
        # import of concurrent.futures and logging: ~20 ms of corepool's import).
        self._waiting: set[queue.SimpleQueue[tuple[bool, Any]]] = set()
        self._waiting_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    @property
    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop thread soon (from any thread)."""
        self.loop.call_soon_threadsafe(fn, *args)

    def call_and_wait(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` on the loop thread and return its result."""
        if self.is_current:
            return fn(*args)
        reply: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

        def run() -> None:
            try:
                reply.put((True, fn(*args)))
            except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
                reply.put((False, error))

        with self._waiting_lock:
            if self.loop.is_closed():
                raise RuntimeError("the dispatcher has stopped")
            self._waiting.add(reply)
        try:
            self.call(run)
            succeeded, outcome = reply.get()
        finally:
            with self._waiting_lock:
                self._waiting.discard(reply)
        if succeeded:
            result: _T = outcome
            return result
        raise outcome

    def stop(self) -> None:
        """Stop the loop (from the loop thread, or from outside) and close it once it is done."""
        if self.loop.is_closed():
            return
        if self.is_current:
            self.loop.stop()
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # already closed
            return
        self._thread.join()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.ident is None:  # never started (see Engine._born_broken)
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            with self._waiting_lock:
                self.loop.close()
                # A call the loop never ran; one it ran has its reply already and ignores this.
                for reply in self._waiting:
                    reply.put((False, RuntimeError("the dispatcher has stopped")))

    def _report(self, loop: EventLoop, context: dict[str, Any]) -> None:
        """An exception escaped a callback on the loop: a bug in corepool.  Log it and let the
        owner fail everything clearly, rather than leave results waiting forever."""
        error = context.get("exception")
        _log.logger().error(
            "corepool dispatcher: %s", context.get("message", "unexpected error"), exc_info=error
        )
        if self._on_error is not None and isinstance(error, BaseException):
            self._on_error(error)
