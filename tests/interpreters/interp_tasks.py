"""Tasks for the subinterpreter tests: importable by name in every worker's interpreter."""

from __future__ import annotations

import sys
import time
from typing import Any

from corepool import current_worker, worker_state


def spin(seconds: float) -> tuple[float, float, int]:
    """Pure-Python work for ``seconds``; its start, end, and the interpreter it ran in."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pass
    return start, time.perf_counter(), interpreter_id()


def interpreter_id(_: object = None) -> int:
    if sys.version_info >= (3, 14):
        from concurrent import interpreters
    else:
        from backports import interpreters
    return int(interpreters.get_current().id)


def who(_: object = None) -> tuple[str, str, int]:
    info = current_worker()
    assert info is not None
    return info.backend, info.name, interpreter_id()


def remember(key: str, value: Any) -> None:
    setattr(worker_state(), key, value)


def recall(key: str) -> Any:
    return getattr(worker_state(), key)


def import_numpy(_: object = None) -> str:
    import numpy  # refuses subinterpreters: the task fails, not the pool

    return str(numpy.__version__)


def nap_then(seconds: float, value: Any = None) -> Any:
    time.sleep(seconds)  # the workload itself, never synchronisation
    return value
