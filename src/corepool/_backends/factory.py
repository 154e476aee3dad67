"""Building a backend from a front door's arguments."""

from __future__ import annotations

import multiprocessing.context
from collections.abc import Callable
from typing import Any, Literal

from corepool import _size_checks
from corepool._backends.base import Backend

# Imported with the front doors, not at the first pool: the first pool should cost what every
# later one costs (benchmarks/start times pools, and reports imports separately).
from corepool._backends.processes import ProcessBackend
from corepool._backends.threads import ThreadBackend
from corepool._lifecycle.start_method import resolve_context
from corepool._wire.rebuild import Flavour
from corepool._worker.native_threads import auto_limit
from corepool.settings import Settings

BackendName = Literal["processes", "threads"]
NativeThreads = int | Literal["auto"] | None


def create_backend(
    name: str,
    size: int,
    settings: Settings,
    *,
    initializer: Callable[..., object] | None,
    initargs: tuple[Any, ...],
    context: multiprocessing.context.BaseContext | str | None = None,
    native_threads: NativeThreads = "auto",
    thread_name_prefix: str = "",
    measure_memory: bool = False,
    flavour: Flavour = Flavour.MULTIPROCESSING,
) -> Backend:
    if initializer is not None and not callable(initializer):
        raise TypeError("initializer must be a callable")
    if name == "processes":
        return ProcessBackend(
            resolve_context(context),
            size,
            settings,
            initializer,
            tuple(initargs),
            _native_limit(native_threads, size),
            measure_memory,
            flavour,
        )
    if name == "threads":
        if measure_memory:
            raise ValueError(
                "max_memory_per_worker needs worker processes: threads share one process's memory"
            )
        return ThreadBackend(initializer, tuple(initargs), thread_name_prefix)
    raise ValueError(f"backend must be 'processes' or 'threads', not {name!r}")


def _native_limit(native_threads: NativeThreads, size: int) -> int | None:
    if native_threads is None:
        return None
    if native_threads == "auto":
        return auto_limit(size)
    if isinstance(native_threads, int) and native_threads >= 1:
        return native_threads
    raise ValueError(
        f"native_threads must be 'auto', None or a positive int, not {native_threads!r}"
    )


def check_size(size: int | None, default: int, what: str) -> int:
    return _size_checks.check_size(size, default, what)  # the standard library's messages
