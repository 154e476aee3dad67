"""CPython's own ``concurrent.futures`` test classes, run against corepool's executors.

The classes come from the running interpreter's ``test.test_concurrent_futures`` package (Python
3.13 here; skipped with the reason printed where the interpreter has no such package, as 3.11.7
on this machine): the executor-independent test logic (``ExecutorTest`` via
``ProcessPoolExecutorTest``, ``ThreadPoolExecutorTest``, ``WaitTests``, ``AsCompletedTests``,
``ExecutorShutdownTest`` via ``ProcessPoolShutdownTest``, ``InitializerMixin``,
``FailingInitializerMixin``, ``ExecutorDeadlockTest``) is combined, as CPython's
``create_executor_tests`` does, with one executor mixin per kind, named like CPython's classes
(``ProcessPoolForkProcessPoolExecutorTest``); the mixins here are CPython's own
(``ProcessPoolForkMixin`` ...) with ``executor_type`` bound to ``corepool.ProcessPoolExecutor`` /
``corepool.ThreadPoolExecutor``.  Test code that names ``futures.ProcessPoolExecutor`` directly
sees corepool's through the loader's facade; ``futures.TimeoutError``, ``BrokenExecutor`` and
``process._RemoteTraceback`` stay the standard types a drop-in must match.

Start methods: all three (fork, forkserver, spawn) for the process executor, as CPython runs them:
what differs between them is exactly what these tests probe (how a worker starts, what it
inherits, how a crash at pickling or unpickling time is noticed).  ``ExecutorDeadlockTest`` waits
``TIMEOUT`` (CPython: ``support.LONG_TIMEOUT``, 5 min) before declaring a deadlock; here it is
20 s, so a hang fails inside the 60 s pytest deadline with CPython's own diagnosis.  A test that
fails half-way and leaves an executor blocked is cleaned up by ``conftest.no_pool_left_running``,
so the run cannot hang at exit.

Expected failures and exclusions: ``compat_exclusions.EXCLUDED`` (applied by ``conftest.py``).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from compat_loader import facade, import_cpython_test, make_test_class

import corepool

_util = import_cpython_test("test.test_concurrent_futures.util")
_process_pool = import_cpython_test("test.test_concurrent_futures.test_process_pool")
_thread_pool = import_cpython_test("test.test_concurrent_futures.test_thread_pool")
_wait = import_cpython_test("test.test_concurrent_futures.test_wait")
_as_completed = import_cpython_test("test.test_concurrent_futures.test_as_completed")
_shutdown = import_cpython_test("test.test_concurrent_futures.test_shutdown")
_init = import_cpython_test("test.test_concurrent_futures.test_init")
_deadlock = import_cpython_test("test.test_concurrent_futures.test_deadlock")

DEADLOCK_TIMEOUT = 20.0
DEADLOCK_SETUP_WORKERS = 1
"""``worker_count`` of the executor ``ExecutorDeadlockTest.setUp`` makes and every test shuts down
unused (each makes its own with ``max_workers=2``).  CPython's 5 cost nothing there (spawn and
forkserver workers start on the first submit); corepool starts them with the executor.  Measured
on this loaded 2-core machine: the spawn class took ~40 s with 5 and ~14 s with 1 (the three
classes: ~50 s -> ~21 s)."""

FUTURES_FACADE = facade(
    concurrent.futures,
    {
        "ProcessPoolExecutor": corepool.ProcessPoolExecutor,
        "ThreadPoolExecutor": corepool.ThreadPoolExecutor,
    },
)
MODULES = {"futures": FUTURES_FACADE}


class CorepoolThreadPoolMixin(_util.ThreadPoolMixin):  # type: ignore[name-defined,misc]
    executor_type = corepool.ThreadPoolExecutor


class CorepoolProcessPoolForkMixin(_util.ProcessPoolForkMixin):  # type: ignore[name-defined,misc]
    executor_type = corepool.ProcessPoolExecutor


class CorepoolProcessPoolForkserverMixin(_util.ProcessPoolForkserverMixin):  # type: ignore[name-defined,misc]
    executor_type = corepool.ProcessPoolExecutor


class CorepoolProcessPoolSpawnMixin(_util.ProcessPoolSpawnMixin):  # type: ignore[name-defined,misc]
    executor_type = corepool.ProcessPoolExecutor


PROCESS_MIXINS = (
    CorepoolProcessPoolForkMixin,
    CorepoolProcessPoolForkserverMixin,
    CorepoolProcessPoolSpawnMixin,
)
ALL_MIXINS = (CorepoolThreadPoolMixin, *PROCESS_MIXINS)


def _strip(name: str) -> str:
    """CPython's ``create_executor_tests`` naming, without our ``Corepool`` prefix."""
    name = name.removeprefix("Corepool")
    if name.endswith(("Mixin", "Tests")):
        return name[:-5]
    return name.removesuffix("Test")


def _install(tests: type, mixins: tuple[type, ...], extra: dict[str, Any] | None = None) -> None:
    """One class per executor mixin, as ``create_executor_tests(globals(), tests, ...)``."""
    for mixin in mixins:
        name = f"{_strip(mixin.__name__)}{_strip(tests.__name__)}Test"
        bases = (tests, mixin, _util.BaseTestCase)
        globals()[name] = make_test_class(name, bases, __name__, MODULES, extra)


def _install_thread_class(concrete: type) -> None:
    """A CPython class already bound to ``ThreadPoolMixin``: rebind its executor to corepool's."""
    name = concrete.__name__
    globals()[name] = make_test_class(name, (CorepoolThreadPoolMixin, concrete), __name__, MODULES)


_install(_process_pool.ProcessPoolExecutorTest, PROCESS_MIXINS)
_install_thread_class(_thread_pool.ThreadPoolExecutorTest)
_install(_wait.WaitTests, PROCESS_MIXINS)
_install_thread_class(_wait.ThreadPoolWaitTests)
_install(_as_completed.AsCompletedTests, ALL_MIXINS)
_install_thread_class(_shutdown.ThreadPoolShutdownTest)
# The process shutdown tests that read _processes submit tasks blocked on a semaphore before
# they fail: they are skipped (compat_exclusions), as their executor would hang the run at exit.
# test_hang_gh94440 replaces pytest-timeout's SIGALRM handler for its 5 s and restores it.
_install(_shutdown.ProcessPoolShutdownTest, PROCESS_MIXINS)
_install(_init.InitializerMixin, ALL_MIXINS)
_install(_init.FailingInitializerMixin, ALL_MIXINS)
_install(
    _deadlock.ExecutorDeadlockTest,
    PROCESS_MIXINS,
    {"TIMEOUT": DEADLOCK_TIMEOUT, "worker_count": DEADLOCK_SETUP_WORKERS},
)


def setUpModule() -> None:
    _util.setup_module()
