"""Workers in subinterpreters: each a parent thread that owns one interpreter with its own GIL.

    Pool(backend="interpreters") ─▶ InterpreterBackend: pickles functions and items (``_wire``)
      start_worker ─▶ InterpreterWorker (``interpreter_worker``): a host thread and its interpreter
                        └─▶ ``_worker/interpreter_main``: runs inside the subinterpreter

Functions, items and results cross by pickle exactly as for worker processes (``_wire``), since
two interpreters share no objects.  What a subinterpreter cannot do, the capabilities say:

* it runs in this process, so a crash (a segfault in an extension) takes the whole process, and
  its memory is the process's (``isolates_workers=False``);
* it cannot be stopped in the middle of a task (``kills_workers=False``): a timed-out or cancelled
  worker is abandoned, as a thread is; its host thread stops after the item it is running
  (the board row's ``ABANDONED``) and a fresh worker takes its place.

Each interpreter has its own GIL, so pure-Python work runs in parallel as in processes, with a
start-up closer to a thread's (``benchmarks/results/interpreters.md``).  The runtime comes from
``concurrent.interpreters`` (Python 3.14+) or the ``backports-interpreters`` package (3.13):
``unavailable_reason()`` says why neither is there, for ``create`` and for ``backend="auto"``.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from corepool._backends import frames_guard
from corepool._backends.base import (
    Backend,
    BackendOptions,
    Capabilities,
    ChunkView,
    Flavour,
    JobView,
    Loop,
    WorkerHandle,
    WorkerListener,
)
from corepool._backends.interpreter_worker import InterpreterWorker
from corepool._backends.pickled_calls import function_payload
from corepool._wire import serialization
from corepool._wire.rebuild import local_error
from corepool._wire.remote_error import Stage
from corepool._worker.interpreter_main import InterpreterBoot

# How long closing the pool waits, in all, for idle subinterpreters to close (milliseconds each).
CLOSE_WAIT_SECONDS = 5.0


def unavailable_reason() -> str | None:
    """Why this Python cannot run ``backend="interpreters"`` (with what would), or ``None``."""
    try:
        interpreters_module()
    except ImportError as error:
        return str(error)
    return None


def interpreters_module() -> ModuleType:
    """PEP 734's module: the standard one on 3.14+, the backport on 3.13."""
    try:
        return importlib.import_module("concurrent.interpreters")
    except ImportError:
        pass
    running = sys.version_info
    version = f"{running.major}.{running.minor}.{running.micro}"
    if (running.major, running.minor) < (3, 13):
        raise ImportError(
            "backend='interpreters' needs Python 3.13+ (3.14 has concurrent.interpreters; "
            f"on 3.13, pip install 'corepool[interpreters]'); this is Python {version}"
        )
    try:
        return importlib.import_module("backports.interpreters")
    except ImportError:
        raise ImportError(
            f"backend='interpreters' on Python {version} needs the backports-interpreters "
            "package: pip install 'corepool[interpreters]'"
        ) from None


def create(options: BackendOptions) -> InterpreterBackend:
    api = interpreters_module()
    frames_guard.install()  # a profiler's sys._current_frames() would corrupt the process
    return InterpreterBackend(
        api,
        options.initializer,
        options.initargs,
        options.flavour or Flavour.MULTIPROCESSING,
    )


class InterpreterBackend(Backend):
    def __init__(
        self,
        api: ModuleType,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
        flavour: Flavour = Flavour.MULTIPROCESSING,
    ) -> None:
        self.capabilities = Capabilities(
            "interpreters", kills_workers=False, isolates_workers=False
        )
        self._api = api
        self._flavour = flavour
        self._workers: list[InterpreterWorker] = []
        """Workers whose host thread may still run: ``close`` waits for their interpreters."""
        self._initializer_blob = (
            serialization.dumps((initializer, initargs), by_value=_main_function(initializer))
            if initializer is not None
            else None
        )

    # -- submitting thread

    def prepare_job(self, job: JobView, *, by_value: bool = False) -> None:
        # A subinterpreter's ``__main__`` is empty: the script's functions travel by value.
        by_value = by_value or _main_function(job.fn)
        job.payload = function_payload(*serialization.dumps_telling(job.fn, by_value=by_value))

    def prepare_chunk(self, chunk: ChunkView) -> None:
        try:
            chunk.payload = serialization.pack_call_items(chunk.items)
        except Exception:  # noqa: BLE001 - find which items cannot be pickled
            self.repack_isolated(chunk)

    def repack_isolated(self, chunk: ChunkView) -> None:
        packed, failures = serialization.pack_call_items_isolated(chunk.items)
        chunk.payload = packed
        for index, error in failures.items():
            chunk.parent_errors[index] = local_error(error, Stage.PICKLE_CALL, self._flavour)

    # -- loop thread

    def start_worker(self, index: int, loop: Loop, listener: WorkerListener) -> WorkerHandle:
        boot = InterpreterBoot(
            worker_index=index,
            name=f"corepool-worker-{index}",
            path=tuple(sys.path),
            board_fd=-1,  # the worker's own board file, below
            initializer_blob=self._initializer_blob,
        )
        worker = InterpreterWorker(boot, self._api, loop, listener, self._flavour)
        self._forget_ended_hosts()
        self._workers.append(worker)
        return worker

    def close(self) -> None:
        """Wait for the interpreters of exited and abandoned workers to close (bounded).

        A terminated worker is reported gone at once, while its host thread still closes its
        interpreter: without this wait, a program that ends right after ``terminate()`` (or a
        ``with Pool(...)`` block) exits while subinterpreters are being closed, and CPython 3.13
        crashes finalizing them (``finalize_subinterpreters``) in about 1 run of 75.
        """
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        for worker in self._workers:
            worker.wait_closed(max(0.0, deadline - time.monotonic()))
        self._forget_ended_hosts()

    def _forget_ended_hosts(self) -> None:
        self._workers = [worker for worker in self._workers if worker.host_alive]


def _main_function(fn: object) -> bool:
    return getattr(fn, "__module__", None) == "__main__"
