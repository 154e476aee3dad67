"""The first pool of a program imports only what it uses (issue 10: the first pool's start-up).

Importing corepool and loading its front doors, then one pool's whole life (start, one task,
close, join), in a fresh interpreter: none of the modules below may be imported on the way.  Each
one was, once, and cost the first pool milliseconds (benchmarks/results/issue10-import*.md):
``dataclasses`` brings ``inspect`` and ``ast`` (~5-12 ms) and ~1 ms per class defined; the
insight reports, the other backends, shared memory, managers and the command line are for programs
that ask for them.  No timing is asserted: the machine may be busy; the list is what stays true.

The interpreter runs with ``-S`` (no ``site``), so that modules the environment's start-up imports
(``pathlib``, in some) do not hide corepool importing them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import corepool

# What the first pool must not import.  (``typing`` and ``re`` are used, ``enum`` by the standard
# library; ``tempfile`` comes with ``multiprocessing.connection``, as to ``multiprocessing.Pool``.)
NOT_ON_THE_FIRST_POOLS_PATH = (
    # standard library
    "ast",
    "asyncio",
    "ctypes",
    "dataclasses",
    "inspect",
    "multiprocessing.forkserver",
    "multiprocessing.heap",  # the progress board is a memfd of its own (_worker/progress.py)
    "multiprocessing.pool",
    "multiprocessing.resource_tracker",
    "pathlib",
    # optional dependencies and heavy third-party modules
    "cloudpickle",
    "dask",
    "distributed",
    "numpy",
    "psutil",
    "tqdm",
    # corepool's own optional parts
    "corepool._backends.auto",
    "corepool._backends.dask",
    "corepool._backends.interpreters",
    "corepool._backends.threads",
    "corepool._engine.progress_sink",
    "corepool._wire.initializer",
    "corepool._wire.main_script",
    # what only a timeout, a lost worker, a chunk prepared again or a value that cannot make the
    # trip needs (~1 ms together)
    "corepool._engine.recovery",
    "corepool._engine.rework",
    "corepool._engine.timeouts",
    "corepool._wire.combined_errors",
    # what only a worker's position needs (a lost worker, a timeout, statistics())
    "corepool._backends.board_position",
    # what only a task's failure needs: making the exception the caller gets
    "corepool._wire.rebuild",
    "corepool._wire.remote_error",
    # the worker's side: the zygote imports it after its fork, on another core (_worker/boot.py),
    # as it does its own server
    "corepool._lifecycle.zygote_server",
    "corepool._worker.process_main",
    "corepool._worker.runner",
    "corepool._worker.spawned",
    "corepool.worker_context",
    "corepool.cli",
    "corepool.insights.progress",
    "corepool.insights.report",
    "corepool.insights.statistics",
    "corepool.manager",
    "corepool.managers",
    "corepool.shared._janitor",
    "corepool.shared._in_place",
    "corepool.shared._janitor_client",
    "corepool.shared.memory",
    "corepool.sync",
)

PROGRAM = """
import json, sys
import corepool
corepool.Pool, corepool.ProcessPoolExecutor
imported = set(sys.modules)
pool = corepool.Pool(2)
assert pool.apply(abs, (-1,)) == 1
pool.close()
pool.join()
print(json.dumps({"import": sorted(imported), "first pool": sorted(sys.modules)}))
"""


# Not on a Pool's path either, when the program never touches an executor (which returns
# ``concurrent.futures.Future``s): ``concurrent.futures`` with ``logging`` cost ~20 ms, a third of
# corepool's import.  The errors that derive from its classes load when one is raised.
NOT_ON_A_POOLS_PATH = ("concurrent.futures", "corepool._executor_errors", "logging")

POOL_ONLY_PROGRAM = """
import json, sys
import corepool
corepool.Pool
imported = set(sys.modules)
with corepool.Pool(2) as pool:  # leaving the block terminates the pool
    assert pool.map(abs, [-1, -2]) == [1, 2]
    assert pool.apply_async(abs, (-3,)).get(timeout=30) == 3
print(json.dumps({"import": sorted(imported), "first pool": sorted(sys.modules)}))
"""


def _modules_of_a_first_pool(program: str = PROGRAM) -> dict[str, list[str]]:
    source = str(Path(corepool.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": source}
    out = subprocess.run(
        [sys.executable, "-S", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=50,
    )
    modules: dict[str, list[str]] = json.loads(out.stdout)
    return modules


def _assert_none_loaded(modules: dict[str, list[str]], forbidden: tuple[str, ...]) -> None:
    for stage in ("import", "first pool"):
        heavy = sorted(
            name
            for name in modules[stage]
            if any(name == unwanted or name.startswith(unwanted + ".") for unwanted in forbidden)
        )
        assert heavy == [], f"{stage}: {heavy}"


def test_the_first_pool_imports_only_what_it_uses() -> None:
    _assert_none_loaded(_modules_of_a_first_pool(), NOT_ON_THE_FIRST_POOLS_PATH)


def test_a_pool_only_program_never_loads_concurrent_futures_or_logging() -> None:
    modules = _modules_of_a_first_pool(POOL_ONLY_PROGRAM)
    _assert_none_loaded(modules, NOT_ON_THE_FIRST_POOLS_PATH + NOT_ON_A_POOLS_PATH)


def test_an_error_that_derives_from_concurrent_futures_loads_when_asked_for() -> None:
    import concurrent.futures.process

    from corepool import errors

    assert issubclass(errors.WorkerLostError, concurrent.futures.process.BrokenProcessPool)
    assert issubclass(errors.TaskCancelledError, concurrent.futures.CancelledError)
    assert errors.WorkerLostError.__module__ == "corepool.errors"
    assert corepool.WorkerLostError is errors.WorkerLostError


def test_the_deferred_errors_are_listed_before_first_use() -> None:
    program = """
import json, sys
from corepool import errors
print(json.dumps({"dir": dir(errors), "loaded": sorted(sys.modules)}))
"""
    listing = _modules_of_a_first_pool(program)
    assert "concurrent.futures" not in listing["loaded"]
    for name in ("InitializerError", "TaskCancelledError", "WorkerLostError", "WorkerStartError"):
        assert name in listing["dir"]
