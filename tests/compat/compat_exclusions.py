"""Which CPython compat tests are expected to fail, or are not run, and why: one table.

Keys are test ids ``<Class>.<test method>`` as collected from ``test_cpython_*.py``; values are a
category and a one-line reason.  ``conftest.py`` applies them:

* ``"private attribute: ..."`` and ``"not applicable: ..."`` entries are skipped (the test reads
  CPython's internals, or would exercise the standard library instead of corepool);
* every other entry is a strict ``xfail``: once corepool is fixed the test passes, the xfail turns
  into a failure, and the entry is to be deleted.

Categories: ``engine:``, ``errors:``, ``sync:``, ``manager:``, ``module surface:``,
``deliberate difference:`` (an intended improvement, listed in docs/guide.md).
"""

from __future__ import annotations

SKIPPED_CATEGORIES = ("private attribute:", "not applicable:")

_IMAP_ITERABLE = (
    "engine: imap/imap_unordered over an iterable that raises never raises the iterable's own "
    "exception (SayWhenError) at that point of the results"
)
_RELEASE_REFS = (
    "engine: the pool keeps references to the arguments/results of finished tasks "
    "(CountedObject instances still alive after map returned)"
)
_MAP_UNPICKLABLE = (
    "errors: map of an unpicklable argument raises SerializationError, not the original "
    "RuntimeError raised by __reduce__"
)
_RESOURCE_WARNING = (
    "errors: unclosed running Pool warns 'unclosed running corepool pool', CPython's test "
    "matches 'unclosed running multiprocessing pool'"
)

EXCLUDED: dict[str, str] = {
    # -- test._test_multiprocessing: Pool / ThreadPool
    "WithProcessesTestPool.test_make_pool": "private attribute: len(p._pool)",
    "WithThreadsTestPool.test_make_pool": "private attribute: len(p._pool)",
    "WithManagerTestPool.test_make_pool": (
        "deliberate difference: corepool.Manager has no server process, so Manager().Pool(-1) "
        "raises ValueError at the call instead of a RemoteError from the server"
    ),
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
    "WithProcessesTestPool.test_release_task_refs": _RELEASE_REFS,
    "WithThreadsTestPool.test_release_task_refs": _RELEASE_REFS,
    "WithManagerTestPool.test_release_task_refs": _RELEASE_REFS,
    "WithProcessesTestPool.test_map_unplicklable": _MAP_UNPICKLABLE,
    "WithManagerTestPool.test_map_unplicklable": _MAP_UNPICKLABLE,
    "WithProcessesTestPool.test_resource_warning": _RESOURCE_WARNING,
    "WithThreadsTestPool.test_resource_warning": _RESOURCE_WARNING,
    "WithProcessesTestPool.test_traceback": (
        "errors: the __cause__ of a task's exception is corepool.RemoteTraceback, not also a "
        "multiprocessing.pool.RemoteTraceback"
    ),
    "WithProcessesTestPoolWorkerErrors.test_unpickleable_result": (
        "errors: a result that cannot be pickled does not raise "
        "multiprocessing.pool.MaybeEncodingError from get()"
    ),
    "WithProcessesTestPoolWorkerLifetime.test_pool_maxtasksperchild_invalid": (
        "errors: Pool(maxtasksperchild=0.5) raises TypeError, the standard is ValueError"
    ),
    # -- test._test_multiprocessing: primitives
    "WithProcessesTestEvent.test_repr": (
        "sync: repr(Event) is '<corepool.Event unset /cp-...>', the standard "
        "'<Event at 0x... unset>'"
    ),
    "WithManagerTestEvent.test_repr": (
        "deliberate difference: corepool.Manager returns corepool objects, not proxies, so "
        "repr(manager.Event()) is not '<EventProxy object, typeid 'Event' at ...>'"
    ),
    "WithProcessesTestBarrier.test_thousand": "module surface: corepool.Pipe is missing",
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
    # -- test._test_multiprocessing: manager containers
    "WithManagerTestContainers.test_dict_iter": (
        "manager: iterating a Dict whose size changed (d.clear()) does not raise RuntimeError"
    ),
    "WithManagerTestContainers.test_list_iter": (
        "manager: iter(List) is a snapshot taken at iter(); the standard list proxy iterates "
        "live (a[0] = 100 after iter() is seen by next())"
    ),
    "WithManagerTestContainers.test_namespace": (
        "manager: repr(Namespace) shows _private attributes ('Namespace(name=..., _hidden=...)')"
    ),
}
