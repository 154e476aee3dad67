"""Where a job's outcomes go.

The methods here that receive outcomes run on the results thread (``results_thread.py``), one
call after another, so user callbacks run there in completion order.  A sink that runs none of
the user's code (``runs_user_code`` false: no callback) may also be given a ``quick`` outcome
directly by the dispatcher, on the loop thread, sparing a wake-up of the results thread for
every chunk; so its producer side holds a lock of its own.  Consumers (``get``, iteration) run on
the user's threads and synchronise through each sink's condition.

    SingleSink   one task: apply_async, submit        -> a callback pair (AsyncResult or Future)
    ListSink     map, map_async, starmap               -> a list, or the first error
    StreamSink   imap, imap_unordered, Executor.map    -> an iterator, bounded by the window
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from itertools import chain, repeat, starmap
from typing import Any

from corepool._engine.window import BlockLedger


class WaitTimedOut(Exception):
    """``next_outcome`` waited its whole timeout (kept apart from the tasks' own errors)."""


class Sink(ABC):
    ledger: BlockLedger | None = None
    runs_user_code = True
    """Whether resolving the sink may run the user's code (a callback): then every outcome goes
    through the results thread, in completion order."""

    @abstractmethod
    def deliver(self, start: int, values: list[Any], errors: dict[int, BaseException]) -> None:
        """Outcomes of items ``start .. start+len(values)``; ``errors`` is keyed by offset."""

    def input_ended(self, total: int) -> None:  # noqa: B027 - only streaming sinks care
        """A streaming job's input is exhausted after ``total`` items."""

    def input_failed(self, index: int, error: BaseException) -> None:
        """A streaming job's input raised ``error`` when asked for item ``index``."""
        self.input_ended(index)

    def claim(self) -> bool:
        """Called by the dispatcher before a task starts; False means it was cancelled."""
        return True

    @abstractmethod
    def cancel(self, error: BaseException) -> None:
        """The pool went away before every outcome arrived: fail whatever is still open."""

    @property
    def settled(self) -> bool:
        """Every outcome arrived (never true again once false, read without a lock: a stale
        read only says "not yet", and a cancel of a settled sink does nothing)."""
        return False

    def abandon(self) -> None:  # noqa: B027 - only sinks that hold something care
        """The caller cancelled the call or stopped reading its results; nothing more is
        expected (outcomes may still arrive and are ignored)."""


def _let_go(_: object) -> None:
    """What a resolved sink calls instead of its callbacks, which it drops.

    The callbacks lead to the caller's result object, which leads back to the job and so to this
    sink: a cycle that only the garbage collector frees.  While another thread still held the job
    for a moment (the feeder finishing), a caller's ``gc.collect()`` could not free it, and the
    call's results outlived the call (CPython's test_release_task_refs, bpo-29861)."""


class SingleSink(Sink):
    """One task, resolved through ``on_value`` / ``on_error``."""

    def __init__(
        self,
        on_value: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
        claim: Callable[[], bool] | None = None,
        *,
        runs_user_code: bool = True,
    ) -> None:
        self._on_value = on_value
        self._on_error = on_error
        self._claim = claim
        self._claimed = False
        self._resolved = False
        self._lock = threading.Lock()
        self.runs_user_code = runs_user_code

    def claim(self) -> bool:
        if self._claim is None or self._claimed:
            return True
        self._claimed = True
        return self._claim()

    def deliver(self, start: int, values: list[Any], errors: dict[int, BaseException]) -> None:
        with self._lock:
            if self._resolved:
                return
            self._resolved = True
        on_value, on_error = self._on_value, self._on_error
        self._on_value = self._on_error = _let_go  # see _let_go
        if 0 in errors:
            on_error(errors[0])
        else:
            on_value(values[0])

    def cancel(self, error: BaseException) -> None:
        self.deliver(0, [None], {0: error})


class ListSink(Sink):
    """All results of a map as one list; the first error to arrive fails the whole call."""

    def __init__(
        self,
        total: int | None,
        on_value: Callable[[list[Any]], None],
        on_error: Callable[[BaseException], None],
        *,
        runs_user_code: bool = True,
    ) -> None:
        self.runs_user_code = runs_user_code
        self._lock = threading.Lock()
        self._total = total
        # With the length known up front, results go straight to their place; otherwise they
        # are kept by start index and put in order at the end.
        self._preallocated = total is not None
        self._values: list[Any] = [None] * total if total is not None else []
        self._parts: dict[int, list[Any]] = {}
        self._received = 0
        self._finished = False
        self._on_value = on_value
        self._on_error = on_error

    def deliver(self, start: int, values: list[Any], errors: dict[int, BaseException]) -> None:
        if self.ledger is not None:
            self.ledger.settle(start, len(values))
        if errors:
            self._fail(errors[min(errors)])
            return
        with self._lock:
            if self._finished:
                return
            if self._preallocated:
                self._values[start : start + len(values)] = values
            else:
                self._parts[start] = values
            self._received += len(values)
            finished = self._finish_if_complete()
        if finished:
            self._resolve()

    def input_ended(self, total: int) -> None:
        with self._lock:
            self._total = total
            finished = self._finish_if_complete()
        if finished:
            self._resolve()

    def input_failed(self, index: int, error: BaseException) -> None:
        self._fail(error)

    def cancel(self, error: BaseException) -> None:
        self._fail(error)

    @property
    def settled(self) -> bool:
        return self._finished

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
            self._values, self._parts = [], {}
            on_error, self._on_value, self._on_error = self._on_error, _let_go, _let_go
        on_error(error)

    def _resolve(self) -> None:
        """Hand the finished list over and keep nothing of it (see ``_let_go``)."""
        values, self._values = self._values, []
        on_value, self._on_value, self._on_error = self._on_value, _let_go, _let_go
        on_value(values)

    def _finish_if_complete(self) -> bool:
        """With the lock held: whether every result is in (once: it marks the sink finished)."""
        if self._finished or self._total is None or self._received < self._total:
            return False
        self._finished = True
        if self._parts:
            # In C: 2 M results took the results thread ~33 ms, ~54 ms by a comprehension.
            parts = self._parts
            self._values = list(chain.from_iterable(parts[start] for start in sorted(parts)))
            self._parts.clear()
        return True


class StreamSink(Sink):
    """Results handed out one at a time, in input order or in completion order.

    ``next_outcome`` returns ``(value, error)`` for the next item.  Outcomes arrive a chunk at a
    time; the consumer takes a whole chunk under the producers' condition (settling it in the
    ledger, which lets the feeder read more input) and then hands out its items under a lock of
    its own, so the per-item cost is one uncontended lock (~0.1 µs), not a condition round.
    """

    runs_user_code = False

    def __init__(self, ordered: bool) -> None:
        self._ordered = ordered
        # Producer side: guarded by the condition.
        self._condition = threading.Condition()
        self._by_start: dict[int, tuple[list[Any], dict[int, BaseException]]] = {}
        self._arrived: deque[tuple[int, list[Any], dict[int, BaseException]]] = deque()
        self._total: int | None = None
        self._input_error: BaseException | None = None
        self._cancel_error: BaseException | None = None
        self._delivered = 0
        # Consumer side: guarded by the consumer lock (one consumer at a time).
        self._consumer = threading.Lock()
        self._values: list[Any] = []
        self._errors: dict[int, BaseException] = {}
        self._offset = 0
        self._taken = 0

    # -- producer side (results thread)

    def deliver(self, start: int, values: list[Any], errors: dict[int, BaseException]) -> None:
        if not values:
            return
        with self._condition:
            self._delivered += len(values)
            if self._ordered:
                self._by_start[start] = (values, errors)
            else:
                self._arrived.append((start, values, errors))
            self._condition.notify_all()

    def input_ended(self, total: int) -> None:
        with self._condition:
            self._total = total
            self._condition.notify_all()

    def input_failed(self, index: int, error: BaseException) -> None:
        with self._condition:
            self._total = index
            self._input_error = error
            self._condition.notify_all()

    def cancel(self, error: BaseException) -> None:
        with self._condition:
            self._cancel_error = error
            self._condition.notify_all()

    @property
    def settled(self) -> bool:
        return self._total is not None and self._delivered >= self._total

    # -- consumer side (user thread)

    def next_outcome(self, timeout: float | None = None) -> tuple[Any, BaseException | None]:
        """The next item's ``(value, error)``; StopIteration at the end, WaitTimedOut on timeout."""
        with self._consumer:
            offset = self._offset
            if offset >= len(self._values):
                self._take_entry(timeout)
                offset = 0
            self._offset = offset + 1
            errors = self._errors
            values = self._values
            value, values[offset] = values[offset], None  # handed out: no longer ours to keep
            return value, errors.get(offset) if errors else None

    def iter_values(self) -> Iterator[Any]:
        """Every remaining value, raising an item's error at its place (for ``for`` loops).

        It claims the rest of the current chunk at once and yields it at C speed (~30 ns an item
        instead of a locked call per item), popping each value off a reversed copy so that a value
        handed out is no longer referenced here (``concurrent.futures`` promises that too).
        Whatever a caller does not take before leaving the loop is handed back, so ``next()``
        afterwards continues exactly where the loop stopped.
        """
        while True:
            with self._consumer:
                offset = self._offset
                if offset >= len(self._values):
                    try:
                        self._take_entry(None)
                    except StopIteration:
                        return
                    offset = 0
                values, errors = self._values, self._errors
                if errors:
                    self._offset = offset + 1
                    value, values[offset] = values[offset], None
                    stack = None
                else:
                    stack = values[offset:] if offset else values
                    stack.reverse()
                    self._values, self._offset = [], 0
            if stack is None:
                error = errors.get(offset)
                if error is not None:
                    raise error
                yield value
                del value
                continue
            try:
                yield from starmap(stack.pop, repeat((), len(stack)))
            finally:
                self._hand_back(stack)

    def _hand_back(self, stack: list[Any]) -> None:
        """What a loop left of the values it claimed becomes the current chunk again."""
        if stack:
            stack.reverse()
            with self._consumer:
                if not self._values:  # nobody took the next chunk meanwhile
                    self._values, self._errors, self._offset = stack, {}, 0

    def _take_entry(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while True:
                entry = self._pop_entry()
                if entry is not None:
                    break
                self._raise_if_finished()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise WaitTimedOut
                self._condition.wait(remaining)
        start, self._values, self._errors = entry
        self._offset = 0
        self._taken += len(self._values)
        assert self.ledger is not None
        self.ledger.settle(start, len(self._values))

    def _pop_entry(self) -> tuple[int, list[Any], dict[int, BaseException]] | None:
        if self._ordered:
            entry = self._by_start.pop(self._taken, None)
            return None if entry is None else (self._taken, *entry)
        return self._arrived.popleft() if self._arrived else None

    def _raise_if_finished(self) -> None:
        if self._total is not None and self._taken >= self._total:
            error, self._input_error = self._input_error, None
            if error is not None:
                raise error
            raise StopIteration
        if self._cancel_error is not None:
            raise self._cancel_error
