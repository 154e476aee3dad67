"""A stand-in for ``concurrent.futures`` whose executors are corepool's.

``import corepool as concurrent`` makes ``concurrent.futures.ProcessPoolExecutor()`` corepool's, so
code written for ``concurrent.futures`` runs unchanged but for that one import; or import names
from here directly.  Everything but the two executors is the standard library's own (futures are
real ``concurrent.futures.Future`` objects; ``BrokenProcessPool`` and ``BrokenThreadPool`` are the
standard classes, so ``except`` clauses written for ``concurrent.futures`` catch corepool's
errors).
"""

from __future__ import annotations

from concurrent.futures import (  # the standard classes themselves, so ``except`` clauses match
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    InvalidStateError,
    TimeoutError,
    as_completed,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures.thread import BrokenThreadPool

from corepool.executor import ProcessPoolExecutor, ThreadPoolExecutor

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "BrokenExecutor",
    "BrokenProcessPool",
    "BrokenThreadPool",
    "CancelledError",
    "Executor",
    "Future",
    "InvalidStateError",
    "ProcessPoolExecutor",
    "ThreadPoolExecutor",
    "TimeoutError",
    "as_completed",
    "wait",
]
