"""Which start method worker processes use, and why.

corepool starts workers with **forkserver** wherever the platform has it (Linux, macOS, the BSDs),
and **spawn** elsewhere, on every Python version:

* ``fork`` copies the parent as it is, including locks held by its other threads at that instant;
  a pool's own threads (and any the program runs) make that a deadlock waiting to happen, which is
  why Python 3.12 warns about it and 3.14 stopped using it by default on Linux.
* ``forkserver`` forks each worker from a small, single-threaded server process started once, so
  workers start in milliseconds without inheriting the parent's threads, locks or memory.
* ``spawn`` is the safe fallback: a fresh interpreter per worker, slower to start.

Pass ``context=`` (``Pool``) or ``mp_context=`` (executors) as a start-method name or a
``multiprocessing`` context to choose another.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


WORKER_MODULE = "corepool._worker.process_main"


def resolve_context(
    context: multiprocessing.context.BaseContext | str | None,
) -> multiprocessing.context.BaseContext:
    if context is None:
        resolved = multiprocessing.get_context(default_start_method())
    elif isinstance(context, str):
        resolved = multiprocessing.get_context(context)
    elif isinstance(context, multiprocessing.context.BaseContext):
        resolved = context
    else:
        raise TypeError(
            f"context must be a start method name or a multiprocessing context, not {context!r}"
        )
    if resolved.get_start_method() == "forkserver":
        _preload_worker_module()
    return resolved


def _preload_worker_module() -> None:
    """Have the forkserver import the worker's code once, before it forks any worker.

    Each worker would otherwise import corepool's worker modules itself (~40 ms on a small
    machine; benchmarks/start).  Only possible before the forkserver starts; the modules already
    asked for (``__main__`` by default) are kept.
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    if server is None or getattr(server, "_forkserver_pid", None) is not None:
        return
    modules = list(getattr(server, "_preload_modules", ["__main__"]))
    if WORKER_MODULE not in modules:
        server.set_forkserver_preload([*modules, WORKER_MODULE])


@contextmanager
def unimportable_main_hidden() -> Iterator[None]:
    """Hide a ``__main__.__file__`` that names no file while a worker process starts.

    ``python -`` (a program on stdin) leaves ``__main__.__file__ == "<stdin>"``;
    ``multiprocessing`` then makes every spawned child, and the forkserver, run that "file" and
    die.  corepool's workers never need the parent's ``__main__`` (functions from it travel by
    value), so for the moment of the start the attribute is taken away.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    base = getattr(multiprocessing.process, "ORIGINAL_DIR", None) or os.getcwd()
    if os.path.exists(os.path.join(base, path)):
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path
