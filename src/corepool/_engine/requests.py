"""What a front door asks of the engine: one value per call, built and checked at the call.

    Pool.apply_async, Executor.submit / schedule                   -> TaskRequest
    Pool.map / map_async / starmap / starmap_async / imap /
    imap_unordered, Executor.map                                    -> MapRequest

A per-call option is a field here and in the front door's signature, and nowhere in between: the
engine reads it from the request.  Every check happens in the constructor, in the caller's
thread, so a bad argument raises at the call and never reaches the loop thread.  (Plain classes,
not frozen dataclasses: a dataclass costs ~1 ms to define, and ``dataclasses`` with ``inspect``
~5-12 ms to import, paid by every program's first pool; benchmarks/start_first.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from corepool._engine.tasks import TaskOptions, function_label
from corepool._wire.messages import CallStyle

if TYPE_CHECKING:
    from corepool.insights.progress import ProgressOption

# Inputs the feeder slices instead of iterating (``feeder._SLICEABLE``).
_SIZED = (list, tuple, range)


class TaskRequest:
    """One call of ``fn(*args, **kwargs)``."""

    __slots__ = ("args", "fn", "kind", "kwargs", "options")

    def __init__(
        self,
        kind: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: TaskOptions | None = None,
    ) -> None:
        self.kind = kind
        """The front-door method, for messages: ``apply``, ``submit``."""
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.options = TaskOptions() if options is None else options

    @classmethod
    def of(
        cls,
        kind: str,
        fn: Callable[..., Any],
        args: Iterable[Any],
        kwargs: Mapping[str, Any] | None,
        options: TaskOptions,
    ) -> TaskRequest:
        check_callable(fn, "fn" if kind == "submit" else "func")
        if kwargs is not None and not isinstance(kwargs, Mapping):
            raise TypeError(f"kwds must be a mapping, not {type(kwargs).__name__}")
        return cls(kind, fn, tuple(args), dict(kwargs or {}), options)

    @property
    def label(self) -> str:
        return f"{self.kind}({function_label(self.fn)})"


class MapRequest:
    """``fn`` over every item of ``items`` (each item one argument, or an argument tuple)."""

    __slots__ = (
        "chunksize", "fn", "fn_name", "items", "kind", "options", "progress", "style",
        "waiting_caller", "window_slots",
    )  # fmt: skip

    def __init__(
        self,
        kind: str,
        fn: Callable[..., Any],
        items: Iterable[Any],
        style: CallStyle = CallStyle.ONE,
        options: TaskOptions | None = None,
        chunksize: int | None = None,
        window_slots: int | None = None,
        fn_name: str = "func",
        progress: ProgressOption = None,
    ) -> None:
        check_callable(fn, fn_name)
        check_chunksize(chunksize)
        if progress is not None and progress is not False:
            # Loaded only for a progress bar or callback (~0.5 ms of every first pool otherwise).
            from corepool.insights.progress import check_progress

            check_progress(progress)
        try:
            iter(items)
        except TypeError:
            raise TypeError(f"{kind}() needs an iterable, not {type(items).__name__}") from None
        self.kind = kind
        """The front-door method, for messages: ``map``, ``imap_unordered``, ``starmap``..."""
        self.waiting_caller: int | None = None
        """The calling thread, when it waits for the whole call (``Pool.map``, ``starmap``):
        nothing of it runs meanwhile, so a large array may be shared in place
        (``shared/_in_place``)."""
        self.fn = fn
        self.items = items
        self.style = style
        self.options = TaskOptions() if options is None else options
        self.chunksize = chunksize
        """Items per chunk; ``None`` sizes chunks from measured task times."""
        self.window_slots = window_slots
        """Chunks that may be read ahead of the consumer; ``None``: the pool's default."""
        self.fn_name = fn_name
        """What the front door calls the function, for messages (``fn`` for executors)."""
        self.progress = progress
        """``True`` for a progress bar, a ``(done, total)`` callable, or nothing."""

    @property
    def label(self) -> str:
        return f"{self.kind}({function_label(self.fn)})"

    @property
    def total(self) -> int | None:
        """The number of items, when the input says (``len``) without being consumed."""
        try:
            return len(self.items)  # type: ignore[arg-type]
        except TypeError:
            return None

    @property
    def exact_total(self) -> int | None:
        """The number of items, for inputs that are sliced rather than iterated (their length
        cannot change while they are read): results may go straight to their place."""
        return len(self.items) if isinstance(self.items, _SIZED) else None


def check_callable(fn: object, what: str = "func") -> None:
    if not callable(fn):
        raise TypeError(f"{what} must be callable, not {type(fn).__name__}")


def check_chunksize(chunksize: object) -> None:
    if chunksize is None:
        return
    if not isinstance(chunksize, int) or isinstance(chunksize, bool):
        raise TypeError(f"chunksize must be an integer or None, not {type(chunksize).__name__}")
    if chunksize < 1:
        raise ValueError(f"chunksize must be at least 1, got {chunksize}")
