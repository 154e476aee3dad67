"""What the two front doors share: turning a user's call into engine jobs."""

from __future__ import annotations

import multiprocessing.context
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from corepool._backends.factory import NativeThreads, check_size, create_backend
from corepool._engine.engine import Engine
from corepool._engine.limits import WorkerLimits, parse_memory
from corepool._engine.sinks import Sink
from corepool._engine.tasks import Job, TaskOptions, function_label
from corepool._wire.messages import CallStyle
from corepool._wire.rebuild import Flavour
from corepool.settings import DEFAULT_SETTINGS, Settings


@dataclass(frozen=True)
class CallDefaults:
    """Pool-wide defaults for per-call options."""

    timeout: float | None = None
    retries: int = 0

    def options(
        self,
        priority: int = 0,
        delay: float = 0.0,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> TaskOptions:
        return TaskOptions(
            priority=priority,
            delay=delay,
            timeout=self.timeout if timeout is None else timeout,
            retries=self.retries if retries is None else retries,
        )


def open_engine(
    backend: str,
    size: int,
    *,
    initializer: Callable[..., object] | None,
    initargs: Iterable[Any],
    context: multiprocessing.context.BaseContext | str | None = None,
    native_threads: NativeThreads = "auto",
    thread_name_prefix: str = "",
    max_tasks: int | None = None,
    max_tasks_name: str = "maxtasksperchild",
    max_memory: int | str | None = None,
    settings: Settings | None = None,
    flavour: Flavour = Flavour.MULTIPROCESSING,
) -> Engine:
    """The engine behind a front door, from the front door's (validated) arguments."""
    if max_tasks is not None:
        check_size(max_tasks, 1, max_tasks_name)
    limits = WorkerLimits(max_tasks, parse_memory(max_memory))
    settings = settings or DEFAULT_SETTINGS
    worker_backend = create_backend(
        backend,
        size,
        settings,
        initializer=initializer,
        initargs=tuple(initargs),
        context=context,
        native_threads=native_threads,
        thread_name_prefix=thread_name_prefix,
        measure_memory=limits.max_memory is not None,
        flavour=flavour,
    )
    return Engine(worker_backend, size, settings, limits=limits)


def check_callable(fn: object, what: str = "func") -> None:
    if not callable(fn):
        raise TypeError(f"{what} must be callable, not {type(fn).__name__}")


def length_of(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def check_chunksize(chunksize: int | None) -> None:
    if chunksize is None:
        return
    if not isinstance(chunksize, int) or isinstance(chunksize, bool):
        raise TypeError(f"chunksize must be an integer or None, not {type(chunksize).__name__}")
    if chunksize < 1:
        raise ValueError(f"chunksize must be at least 1, got {chunksize}")


def start_stream(
    engine: Engine,
    kind: str,
    fn: Callable[..., Any],
    style: CallStyle,
    iterable: Iterable[Any],
    chunksize: int | None,
    options: TaskOptions,
    sink: Sink,
    *,
    window_slots: int | None = None,
) -> Job:
    check_callable(fn)
    check_chunksize(chunksize)
    try:
        iter(iterable)
    except TypeError:
        raise TypeError(f"{kind}() needs an iterable, not {type(iterable).__name__}") from None
    label = f"{kind}({function_label(fn)})"
    return engine.submit_stream(
        fn,
        style,
        iterable,
        options,
        sink,
        label,
        chunksize=chunksize,
        total=length_of(iterable),
        window_slots=window_slots,
    )
