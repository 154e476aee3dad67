"""CPython's own ``multiprocessing`` test classes, run against corepool.

The classes come from the running interpreter's ``test._test_multiprocessing`` (skipped, with the
reason printed, where the interpreter has no ``test`` package): the Pool / ThreadPool classes
(``_TestPool``, ``_TestPoolWorkerErrors``, ``_TestPoolWorkerLifetime``), the primitives
(``_TestLock``, ``_TestSemaphore``, ``_TestCondition``, ``_TestEvent``, ``_TestBarrier``),
``_TestValue``, ``_TestArray``, ``_TestQueue`` and ``_TestContainers``.  As CPython's
``install_tests_in_module_dict`` does, each is combined with one mixin per "type" it allows, named
``With<Type><Name>`` (``WithProcessesTestPool``); the mixins here bind the attributes the tests
use to corepool:

* processes: ``Pool`` is ``corepool.Pool``; ``Lock``, ``Queue``, ``Value``, ... are corepool's;
  ``Process`` is ``corepool.Process``, which children use to receive corepool objects.
* threads:   ``Pool`` is ``corepool.ThreadPool``; the primitives are corepool's (they work between
  threads too, and a program moving to the thread backend keeps them); ``Process`` is
  ``multiprocessing.dummy.Process`` (a thread), as in CPython.
* manager:   ``self.manager`` is ``corepool.Manager()``; ``self.Lock`` is ``manager.Lock`` etc.

A name corepool does not export (``Pipe``, ``set_executable`` today) is bound to a stand-in that
raises ``AttributeError``, so a test needing it fails visibly rather than testing the standard
library.  Tests that name ``multiprocessing.Pool`` / ``multiprocessing.Queue`` directly see
corepool's through the loader's facade (``compat_loader.facade``).

Start method: **forkserver**, corepool's default, for the whole module (``setUpModule`` sets it
globally, as CPython's ``test_multiprocessing_forkserver`` does).  One start method, not three:
the classes here test the Pool API and the primitives, whose behaviour does not depend on how a
worker starts, and forkserver starts a child in milliseconds where spawn takes ~100 ms on this
2-core machine (the Condition and Barrier tests start hundreds).  The start-method matrix is run
by the executor suite (``test_cpython_concurrent_futures.py``), where crash handling differs.

Expected failures and exclusions: ``compat_exclusions.EXCLUDED`` (applied by ``conftest.py``).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.dummy
import operator
from typing import Any

from compat_loader import facade, import_cpython_test, make_test_class

import corepool

_mp = import_cpython_test("test._test_multiprocessing")

START_METHOD = "forkserver"

BASES = (
    "_TestPool",
    "_TestPoolWorkerErrors",
    "_TestPoolWorkerLifetime",
    "_TestLock",
    "_TestSemaphore",
    "_TestCondition",
    "_TestEvent",
    "_TestBarrier",
    "_TestValue",
    "_TestArray",
    "_TestQueue",
    "_TestContainers",
)


def _corepool(name: str) -> Any:
    """corepool's ``name``, or a stand-in that raises as ``corepool.<name>`` would."""
    try:
        return getattr(corepool, name)
    except AttributeError as error:
        message = str(error)

        def missing(*args: Any, **kwargs: Any) -> Any:
            raise AttributeError(message)

        return missing


# What ``multiprocessing.<name>`` means inside the CPython tests' own code: corepool's object for
# the names corepool exports as a drop-in, the standard module's for everything else.
_DROP_IN_NAMES = (
    "Pool", "ThreadPool", "Process", "Manager", "Queue", "JoinableQueue", "SimpleQueue", "Lock",
    "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier", "Value", "Array",
    "RawValue", "RawArray", "TimeoutError", "current_process", "active_children",
    "parent_process", "cpu_count",
)  # fmt: skip
MULTIPROCESSING_FACADE = facade(
    multiprocessing,
    {name: getattr(corepool, name) for name in _DROP_IN_NAMES if hasattr(corepool, name)},
)


class CorepoolProcessesMixin(_mp.BaseMixin):  # type: ignore[name-defined,misc]
    TYPE = "processes"
    Process = corepool.Process
    connection = multiprocessing.connection
    current_process = staticmethod(corepool.current_process)
    parent_process = staticmethod(corepool.parent_process)
    active_children = staticmethod(corepool.active_children)
    set_executable = staticmethod(_corepool("set_executable"))
    Pool = staticmethod(corepool.Pool)
    Pipe = staticmethod(_corepool("Pipe"))
    Queue = staticmethod(corepool.Queue)
    JoinableQueue = staticmethod(corepool.JoinableQueue)
    Lock = staticmethod(corepool.Lock)
    RLock = staticmethod(corepool.RLock)
    Semaphore = staticmethod(corepool.Semaphore)
    BoundedSemaphore = staticmethod(corepool.BoundedSemaphore)
    Condition = staticmethod(corepool.Condition)
    Event = staticmethod(corepool.Event)
    Barrier = staticmethod(corepool.Barrier)
    Value = staticmethod(corepool.Value)
    Array = staticmethod(corepool.Array)
    RawValue = staticmethod(corepool.RawValue)
    RawArray = staticmethod(corepool.RawArray)


class CorepoolThreadsMixin(_mp.BaseMixin):  # type: ignore[name-defined,misc]
    TYPE = "threads"
    Process = multiprocessing.dummy.Process
    connection = multiprocessing.dummy.connection
    current_process = staticmethod(multiprocessing.dummy.current_process)
    active_children = staticmethod(multiprocessing.dummy.active_children)
    Pool = staticmethod(corepool.ThreadPool)
    Pipe = staticmethod(multiprocessing.dummy.Pipe)
    Queue = staticmethod(corepool.Queue)
    JoinableQueue = staticmethod(corepool.JoinableQueue)
    Lock = staticmethod(corepool.Lock)
    RLock = staticmethod(corepool.RLock)
    Semaphore = staticmethod(corepool.Semaphore)
    BoundedSemaphore = staticmethod(corepool.BoundedSemaphore)
    Condition = staticmethod(corepool.Condition)
    Event = staticmethod(corepool.Event)
    Barrier = staticmethod(corepool.Barrier)
    Value = staticmethod(corepool.Value)
    Array = staticmethod(corepool.Array)


class CorepoolManagerMixin(_mp.BaseMixin):  # type: ignore[name-defined,misc]
    TYPE = "manager"
    Process = corepool.Process
    manager: Any = None
    Queue = property(operator.attrgetter("manager.Queue"))
    JoinableQueue = property(operator.attrgetter("manager.JoinableQueue"))
    Lock = property(operator.attrgetter("manager.Lock"))
    RLock = property(operator.attrgetter("manager.RLock"))
    Semaphore = property(operator.attrgetter("manager.Semaphore"))
    BoundedSemaphore = property(operator.attrgetter("manager.BoundedSemaphore"))
    Condition = property(operator.attrgetter("manager.Condition"))
    Event = property(operator.attrgetter("manager.Event"))
    Barrier = property(operator.attrgetter("manager.Barrier"))
    Value = property(operator.attrgetter("manager.Value"))
    Array = property(operator.attrgetter("manager.Array"))
    list = property(operator.attrgetter("manager.list"))
    dict = property(operator.attrgetter("manager.dict"))
    Namespace = property(operator.attrgetter("manager.Namespace"))

    @classmethod
    def Pool(cls, *args: Any, **kwargs: Any) -> Any:
        return cls.manager.Pool(*args, **kwargs)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.manager = corepool.Manager()

    @classmethod
    def tearDownClass(cls) -> None:
        # CPython's ManagerMixin also counts the server's objects (``_number_of_objects``):
        # corepool's manager has no server, so there is nothing to count.
        cls.manager.shutdown()
        cls.manager.join()
        cls.manager = None
        super().tearDownClass()


def _check_invariant_without_privates(self: Any, cond: Any) -> None:
    """``_TestCondition.check_invariant`` reads ``multiprocessing.Condition``'s private
    ``_sleeping_count`` / ``_woken_count`` / ``_wait_semaphore`` for the processes type (for the
    threads and manager types CPython's own check is a no-op); corepool's Condition has no such
    semaphores, so here it is a no-op for every type and the rest of each test still runs."""


# Helpers of CPython's bases replaced in the generated classes, with the reason in the docstring.
OVERRIDES: dict[str, dict[str, Any]] = {
    "_TestCondition": {"check_invariant": _check_invariant_without_privates},
}

MIXINS = {
    "processes": CorepoolProcessesMixin,
    "threads": CorepoolThreadsMixin,
    "manager": CorepoolManagerMixin,
}


def _install() -> None:
    for base_name in BASES:
        base = getattr(_mp, base_name)
        for type_ in base.ALLOWED_TYPES:
            name = "With" + type_.capitalize() + base_name[1:]
            globals()[name] = make_test_class(
                name,
                (base, MIXINS[type_]),
                __name__,
                modules={"multiprocessing": MULTIPROCESSING_FACADE},
                members=OVERRIDES.get(base_name),
            )


_install()

_previous_start_method: list[str | None] = []


def setUpModule() -> None:
    _previous_start_method.append(multiprocessing.get_start_method(allow_none=True))
    multiprocessing.set_start_method(START_METHOD, force=True)


def tearDownModule() -> None:
    multiprocessing.set_start_method(_previous_start_method.pop(), force=True)
