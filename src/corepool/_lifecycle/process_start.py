"""Around the start of a worker process: what the forkserver preloads, what ``__main__`` shows.

Used by every way corepool starts a process (the process backend, the zygote, ``corepool.Process``)
whatever the start method (``start_method``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

WORKER_MODULE = "corepool._worker.process_main"


def preload_worker_module() -> None:
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
    """Hide ``__main__``'s file and module name while a process starts, unless it may re-run.

    ``multiprocessing`` makes every spawned child, and the forkserver, run the parent's main
    script again (as ``__mp_main__``) so that its functions can be found by name.  That is only
    harmless for a script whose top level only defines things and keeps its work under
    ``if __name__ == "__main__":`` (``_wire.main_script.workers_reimport_main``).  Any other
    main — a script without the guard (each worker would start a pool of its own), a
    ``__file__`` that names no file (``python -`` reads the program from stdin) — is hidden for
    the moment of the start: corepool's workers do not need it, since functions and classes
    from such a ``__main__`` travel by value.
    """
    from corepool._wire.main_script import main_must_be_hidden

    main = sys.modules.get("__main__")
    if main is None or not main_must_be_hidden():
        yield
        return
    names = ("__file__", "__spec__")
    saved = {name: main.__dict__[name] for name in names if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    if "__spec__" in saved:
        main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)
