"""What a front door asks of the engine: one value per call, built and checked at the call.

    Pool.apply_async, Executor.submit / schedule                   -> TaskRequest
    Pool.map / map_async / starmap / starmap_async / imap /
    imap_unordered, Executor.map                                    -> MapRequest

A per-call option is a field here and in the front door's signature, and nowhere in between: the
engine reads it from the request.  Every check happens in ``__post_init__``, in the caller's
thread, so a bad argument raises at the call and never reaches the loop thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corepool._engine.tasks import TaskOptions, function_label
from corepool._wire.messages import CallStyle
from corepool.insights.progress import ProgressOption, check_progress

# Inputs the feeder slices instead of iterating (``feeder._SLICEABLE``).
_SIZED = (list, tuple, range)


@dataclass(frozen=True)
class TaskRequest:
    """One call of ``fn(*args, **kwargs)``."""

    kind: str
    """The front-door method, for messages: ``apply``, ``submit``."""
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: TaskOptions = field(default_factory=TaskOptions)

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


@dataclass(frozen=True)
class MapRequest:
    """``fn`` over every item of ``items`` (each item one argument, or an argument tuple)."""

    kind: str
    """The front-door method, for messages: ``map``, ``imap_unordered``, ``starmap``..."""
    fn: Callable[..., Any]
    items: Iterable[Any]
    style: CallStyle = CallStyle.ONE
    options: TaskOptions = field(default_factory=TaskOptions)
    chunksize: int | None = None
    """Items per chunk; ``None`` sizes chunks from measured task times."""
    window_slots: int | None = None
    """Chunks that may be read ahead of the consumer; ``None``: the pool's default."""
    fn_name: str = "func"
    """What the front door calls the function, for messages (``fn`` for executors)."""
    progress: ProgressOption = None
    """``True`` for a progress bar, a ``(done, total)`` callable, or nothing."""

    def __post_init__(self) -> None:
        check_callable(self.fn, self.fn_name)
        check_chunksize(self.chunksize)
        check_progress(self.progress)
        try:
            iter(self.items)
        except TypeError:
            raise TypeError(
                f"{self.kind}() needs an iterable, not {type(self.items).__name__}"
            ) from None

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
