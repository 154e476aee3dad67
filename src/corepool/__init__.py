"""corepool: parallel work for Python.

Drop-in pools and executors over threads or processes, on one engine that knows which task each
worker holds.  The front doors::

    corepool.Pool / corepool.ThreadPool                          like multiprocessing.Pool
    corepool.ProcessPoolExecutor / corepool.ThreadPoolExecutor   like concurrent.futures

Importing corepool is light: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The address of this process tree's shared-memory janitor (``shared/_janitor.py``), chosen now so
# that every process started from here on inherits it, even those started before any shared
# memory is used (the forkserver and its workers).  Nothing runs until a segment is created.
os.environ.setdefault("COREPOOL_JANITOR", f"corepool-janitor-{os.getpid()}-{os.urandom(6).hex()}")

# name -> module that defines it
_EXPORTS = {
    "Pool": "corepool.pool",
    "ThreadPool": "corepool.pool",
    "ProcessPoolExecutor": "corepool.executor",
    "ThreadPoolExecutor": "corepool.executor",
    "AsyncResult": "corepool.async_results",
    "MapResult": "corepool.async_results",
    "IMapIterator": "corepool.async_results",
    "Settings": "corepool.settings",
    "Lock": "corepool.sync.locks",
    "RLock": "corepool.sync.locks",
    "Semaphore": "corepool.sync.semaphores",
    "BoundedSemaphore": "corepool.sync.semaphores",
    "Condition": "corepool.sync.condition",
    "Event": "corepool.sync.event",
    "Barrier": "corepool.sync.barrier",
    "BrokenBarrierError": "threading",
    "Value": "corepool.sync.sharedctypes",
    "Array": "corepool.sync.sharedctypes",
    "RawValue": "corepool.sync.sharedctypes",
    "RawArray": "corepool.sync.sharedctypes",
    "Queue": "corepool.sync.queues",
    "JoinableQueue": "corepool.sync.queues",
    "SimpleQueue": "corepool.sync.queues",
    "LifoQueue": "corepool.sync.queues",
    "PriorityQueue": "corepool.sync.queues",
    "HolderDiedError": "corepool.errors",
    "LockNotOwnedError": "corepool.errors",
    "SegmentGoneError": "corepool.errors",
    "PoolStatistics": "corepool.insights.statistics",
    "PoolInsights": "corepool.insights.report",
    "WorkerStatistics": "corepool.insights.statistics",
    "WorkerInfo": "corepool.worker_context",
    "current_worker": "corepool.worker_context",
    "worker_state": "corepool.worker_context",
    "Timer": "corepool.timer",
    "Executor": "corepool.executor",
    "CorepoolError": "corepool.errors",
    "InitializerError": "corepool.errors",
    "PoolClosedError": "corepool.errors",
    "RemoteTaskError": "corepool.errors",
    "RemoteTraceback": "corepool.errors",
    "SerializationError": "corepool.errors",
    "TaskCancelledError": "corepool.errors",
    "TaskTimeoutError": "corepool.errors",
    "WorkerLostError": "corepool.errors",
    "WorkerStartError": "corepool.errors",
    "TimeoutError": "multiprocessing",
    "Manager": "corepool.manager",
    "Namespace": "corepool.manager",
    "Process": "corepool.process",
    "current_process": "corepool.process",
    "active_children": "corepool.process",
    "parent_process": "corepool.process",
    "cpu_count": "corepool.process",
    "get_context": "corepool.context",
    "get_start_method": "corepool.context",
    "set_start_method": "corepool.context",
    "get_all_start_methods": "corepool.context",
    # The standard library's own: they work as they are with corepool's processes and objects.
    "Pipe": "multiprocessing",
    "ProcessError": "multiprocessing",
    "AuthenticationError": "multiprocessing",
    "BufferTooShort": "multiprocessing",
    "freeze_support": "multiprocessing",
    "log_to_stderr": "multiprocessing",
    "get_logger": "multiprocessing",
    "set_executable": "multiprocessing",
    "set_forkserver_preload": "multiprocessing",
    "allow_connection_pickling": "multiprocessing",
    "reducer": "multiprocessing",
    "SUBDEBUG": "multiprocessing",
    "SUBWARNING": "multiprocessing",
    "Dict": "corepool.shared.shared_dict",
    "List": "corepool.shared.shared_list",
    "SharedArray": "corepool.shared.array",
    "CapacityError": "corepool.errors",
    "SharedObjectClosedError": "corepool.errors",
}

__all__ = [
    "SUBDEBUG",
    "SUBWARNING",
    "Array",
    "AsyncResult",
    "AuthenticationError",
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "BufferTooShort",
    "CapacityError",
    "Condition",
    "CorepoolError",
    "Dict",
    "Event",
    "Executor",
    "HolderDiedError",
    "IMapIterator",
    "InitializerError",
    "JoinableQueue",
    "LifoQueue",
    "List",
    "Lock",
    "LockNotOwnedError",
    "Manager",
    "MapResult",
    "Namespace",
    "Pipe",
    "Pool",
    "PoolClosedError",
    "PoolInsights",
    "PoolStatistics",
    "PriorityQueue",
    "Process",
    "ProcessError",
    "ProcessPoolExecutor",
    "Queue",
    "RLock",
    "RawArray",
    "RawValue",
    "RemoteTaskError",
    "RemoteTraceback",
    "SegmentGoneError",
    "Semaphore",
    "SerializationError",
    "Settings",
    "SharedArray",
    "SharedObjectClosedError",
    "SimpleQueue",
    "TaskCancelledError",
    "TaskTimeoutError",
    "ThreadPool",
    "ThreadPoolExecutor",
    "TimeoutError",
    "Timer",
    "Value",
    "WorkerInfo",
    "WorkerLostError",
    "WorkerStartError",
    "WorkerStatistics",
    "active_children",
    "allow_connection_pickling",
    "cpu_count",
    "current_process",
    "current_worker",
    "freeze_support",
    "get_all_start_methods",
    "get_context",
    "get_logger",
    "get_start_method",
    "log_to_stderr",
    "parent_process",
    "reducer",
    "set_executable",
    "set_forkserver_preload",
    "set_start_method",
    "worker_state",
]


# Submodules reachable as attributes (``import corepool as concurrent``: ``concurrent.futures``;
# ``import corepool as multiprocessing``: ``multiprocessing.pool.ThreadPool``,
# ``multiprocessing.managers.BaseManager``).
_SUBMODULES = ("futures", "pool", "process", "context", "managers")
# ``multiprocessing``'s other modules, which corepool does not replace: a program that reaches them
# through ``import corepool as multiprocessing`` is told where they are.
_STDLIB_MODULES = frozenset(
    {
        "connection",
        "dummy",
        "forkserver",
        "heap",
        "popen_fork",
        "popen_forkserver",
        "popen_spawn_posix",
        "popen_spawn_win32",
        "queues",
        "reduction",
        "resource_sharer",
        "resource_tracker",
        "shared_memory",
        "sharedctypes",
        "spawn",
        "synchronize",
        "util",
    }
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"corepool.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        if name in _STDLIB_MODULES:
            raise AttributeError(
                f"corepool has no module {name!r}: import multiprocessing.{name} itself (it works "
                "with corepool's processes); corepool replaces only the names in corepool.__all__"
            )
        raise AttributeError(f"module 'corepool' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from multiprocessing import (
        AuthenticationError,
        BufferTooShort,
        Pipe,
        ProcessError,
        TimeoutError,
        allow_connection_pickling,
        freeze_support,
        get_logger,
        log_to_stderr,
        reducer,
        set_executable,
        set_forkserver_preload,
    )
    from multiprocessing.util import SUBDEBUG, SUBWARNING
    from threading import BrokenBarrierError

    from corepool.async_results import AsyncResult, IMapIterator, MapResult
    from corepool.context import (
        get_all_start_methods,
        get_context,
        get_start_method,
        set_start_method,
    )
    from corepool.errors import (
        CapacityError,
        CorepoolError,
        HolderDiedError,
        InitializerError,
        LockNotOwnedError,
        PoolClosedError,
        RemoteTaskError,
        RemoteTraceback,
        SegmentGoneError,
        SerializationError,
        SharedObjectClosedError,
        TaskCancelledError,
        TaskTimeoutError,
        WorkerLostError,
        WorkerStartError,
    )
    from corepool.executor import Executor, ProcessPoolExecutor, ThreadPoolExecutor
    from corepool.insights.report import PoolInsights
    from corepool.insights.statistics import PoolStatistics, WorkerStatistics
    from corepool.manager import Manager, Namespace
    from corepool.pool import Pool, ThreadPool
    from corepool.process import (
        Process,
        active_children,
        cpu_count,
        current_process,
        parent_process,
    )
    from corepool.settings import Settings
    from corepool.shared.array import SharedArray
    from corepool.shared.shared_dict import Dict
    from corepool.shared.shared_list import List
    from corepool.sync.barrier import Barrier
    from corepool.sync.condition import Condition
    from corepool.sync.event import Event
    from corepool.sync.locks import Lock, RLock
    from corepool.sync.queues import (
        JoinableQueue,
        LifoQueue,
        PriorityQueue,
        Queue,
        SimpleQueue,
    )
    from corepool.sync.semaphores import BoundedSemaphore, Semaphore
    from corepool.sync.sharedctypes import Array, RawArray, RawValue, Value
    from corepool.timer import Timer
    from corepool.worker_context import WorkerInfo, current_worker, worker_state
