"""Which CPython compat tests are expected to fail, or are not run, and why: one table.

Keys are test ids ``<Class>.<test method>`` as collected from ``test_cpython_*.py``; values are a
category and a one-line reason.  ``conftest.py`` applies them:

* ``"private attribute: ..."`` and ``"not applicable: ..."`` entries are skipped (the test reads
  CPython's internals, or would exercise the standard library instead of corepool);
* every other entry is a strict ``xfail``: once corepool is fixed the test passes, the xfail turns
  into a failure, and the entry is to be deleted.

Categories: ``engine:``, ``errors:``, ``sync:``, ``manager:``, ``module surface:``,
``deliberate difference:`` (an intended improvement, listed in docs/guide.md), and ``known race:``
(a bug that fails the test some of the time: an xfail that is not strict, to be fixed).
"""

from __future__ import annotations

SKIPPED_CATEGORIES = ("private attribute:", "not applicable:")
RACE_CATEGORY = "known race:"
"""A bug that makes the test fail some of the time: run, reported, but not strict."""

_IMAP_ITERABLE = (
    "deliberate difference: an input error is raised after every result before it; the standard "
    "library drops the results of the chunk the error interrupted (the test expects the drop)"
)
_RESOURCE_WARNING = (
    "private attribute: sets pool._state = multiprocessing.pool.RUN on a terminated pool "
    "(corepool warns the same words for a pool left running)"
)

EXCLUDED: dict[str, str] = {
    # -- test._test_multiprocessing: Pool / ThreadPool
    "WithProcessesTestPool.test_make_pool": "private attribute: len(p._pool)",
    "WithThreadsTestPool.test_make_pool": "private attribute: len(p._pool)",
    "WithProcessesTestPoolWorkerLifetime.test_pool_worker_lifetime": (
        "private attribute: p._pool, p._repopulate_pool()"
    ),
    (
        "WithProcessesTestPoolWorkerLifetime."
        "test_worker_finalization_via_atexit_handler_of_multiprocessing"
    ): (
        "not applicable: the child script imports multiprocessing.Pool itself, so it would "
        "test the standard library, not corepool"
    ),
    "WithProcessesTestPool.test_imap_handle_iterable_exception": _IMAP_ITERABLE,
    "WithThreadsTestPool.test_imap_handle_iterable_exception": _IMAP_ITERABLE,
    "WithProcessesTestPool.test_resource_warning": _RESOURCE_WARNING,
    "WithThreadsTestPool.test_resource_warning": _RESOURCE_WARNING,
    "WithProcessesTestPoolWorkerErrors.test_unpickleable_result": (
        "deliberate difference: the 'unpickleable' result is a lambda, which comes home through "
        "cloudpickle; a result that neither pickle nor cloudpickle can send raises a "
        "SerializationError that is also a MaybeEncodingError (with .exc and .value)"
    ),
    # -- test._test_multiprocessing: primitives
    "WithManagerTestEvent.test_repr": (
        "deliberate difference: corepool.Manager returns corepool objects, not proxies, so "
        "repr(manager.Event()) is not '<EventProxy object, typeid 'Event' at ...>'"
    ),
    "WithProcessesTestQueue.test_queue_feeder_donot_stop_onexc": (
        "deliberate difference: Queue.put of an unpicklable object raises SerializationError "
        "at once instead of losing the item in a feeder thread"
    ),
    "WithProcessesTestQueue.test_no_import_lock_contention": (
        "not applicable: the imported module uses multiprocessing.Queue itself, so it would "
        "test the standard library, not corepool"
    ),
    "WithThreadsTestQueue.test_no_import_lock_contention": (
        "not applicable: the imported module uses multiprocessing.Queue itself"
    ),
    "WithManagerTestQueue.test_no_import_lock_contention": (
        "not applicable: the imported module uses multiprocessing.Queue itself"
    ),
}

_PROCESS_KINDS = ("Fork", "Forkserver", "Spawn")
_EXECUTOR_CLASSES = (
    *(f"ProcessPool{kind}ProcessPoolExecutorTest" for kind in _PROCESS_KINDS),
    "ThreadPoolExecutorTest",
)


def _each(classes: tuple[str, ...] | list[str], test: str, reason: str) -> None:
    for cls in classes:
        EXCLUDED[f"{cls}.{test}"] = reason


_PROCESS_EXECUTOR_CLASSES = _EXECUTOR_CLASSES[:3]
# Reading _processes / _threads after submitting tasks that block on a semaphore: the test dies
# before releasing it, so its executor never shuts down and the interpreter hangs at exit.
for _test in ("test_saturation", "test_killed_child", "test_idle_process_reuse_one",
              "test_idle_process_reuse_multiple"):  # fmt: skip
    _each(_PROCESS_EXECUTOR_CLASSES, _test, "private attribute: executor._processes")
_each(
    ["ProcessPoolForkserverProcessPoolExecutorTest", "ProcessPoolSpawnProcessPoolExecutorTest"],
    "test_max_tasks_per_child",
    "private attribute: executor._processes",
)
_each(
    _PROCESS_EXECUTOR_CLASSES,
    "test_max_tasks_per_child_defaults_to_spawn_context",
    "private attribute: executor._mp_context",
)
for _test in ("test_saturation", "test_idle_thread_reuse", "test_default_workers"):
    EXCLUDED[f"ThreadPoolExecutorTest.{_test}"] = "private attribute: executor._threads"
for _test in ("test_threads_terminate", "test_context_manager_shutdown", "test_del_shutdown",
              "test_shutdown_no_wait", "test_thread_names_assigned",
              "test_thread_names_default"):  # fmt: skip
    EXCLUDED[f"ThreadPoolShutdownTest.{_test}"] = "private attribute: executor._threads"
_SHUTDOWN_CLASSES = (
    *(f"ProcessPool{kind}ProcessPoolShutdownTest" for kind in _PROCESS_KINDS),
    "ThreadPoolShutdownTest",
)
for _test in ("test_interpreter_shutdown", "test_submit_after_interpreter_shutdown",
              "test_hang_gh83386"):  # fmt: skip
    _each(
        _SHUTDOWN_CLASSES,
        _test,
        "not applicable: the child script imports the executor from concurrent.futures, so it "
        "would test the standard library, not corepool",
    )
for _test in ("test_context_manager_shutdown", "test_del_shutdown", "test_processes_terminate",
              "test_shutdown_no_wait"):  # fmt: skip
    _each(
        _SHUTDOWN_CLASSES[:3],
        _test,
        "private attribute: executor._processes / _executor_manager_thread (the test dies "
        "before its blocked tasks are released, and the interpreter then hangs at exit)",
    )
_each(
    [f"ProcessPool{kind}ExecutorDeadlockTest" for kind in _PROCESS_KINDS],
    "test_shutdown_deadlock_pickle",
    "private attribute: executor._executor_manager_thread (joined to check that no thread "
    "dangles; the rest of the test, a PicklingError after shutdown(wait=False), passes)",
)
