"""corepool's ``multiprocessing`` contexts: ``get_context(method)`` and the module-level functions.

``import corepool as multiprocessing`` gives a program the functions it calls on
``multiprocessing``; the objects they make are corepool's::

    corepool.get_context("spawn")  ->  Context("spawn")
        .Pool(...)       corepool.Pool, its workers started with spawn
        .Process(...)    corepool.process.SpawnProcess
        .Queue(), .Lock(), .Value(...), .Manager() ...   corepool's shared objects (they travel
                         under every start method, so they need no binding to one)
        .Pipe(), .get_logger(), .cpu_count() ...          the standard library's own

    corepool.set_start_method / get_start_method / get_all_start_methods / get_context
        the standard library's rules and messages, over the state in ``_lifecycle.start_method``
        (which is where pools and executors created without ``context=`` read it).

Every context is a ``multiprocessing.context.BaseContext``, so it may be passed wherever a context
is expected (``Pool(context=...)``, ``ProcessPoolExecutor(mp_context=...)``, and the standard
library's own pools).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.context
from typing import TYPE_CHECKING, Any

from corepool._lifecycle import start_method

if TYPE_CHECKING:
    from corepool.pool import Pool as PoolType
    from corepool.process import Process as ProcessType

__all__ = [
    "Context",
    "DefaultContext",
    "get_all_start_methods",
    "get_context",
    "get_start_method",
    "set_start_method",
]


class Context(multiprocessing.context.BaseContext):
    """corepool's objects, with processes started by one start method."""

    def __init__(self, method: str) -> None:
        self._name = method

    def __repr__(self) -> str:
        return f"<corepool context {self._name!r}>"

    def corepool_start_method(self) -> str:
        """The method this context starts processes with (``resolve_context`` reads it)."""
        return self._name

    def get_start_method(self, allow_none: bool = False) -> str:
        return self._name

    def get_context(self, method: str | None = None) -> Context:  # type: ignore[override]
        return self if method is None else _context_for(method)

    def set_start_method(self, method: str | None, force: bool = False) -> None:
        raise ValueError("cannot set start method of concrete context")

    @property
    def Process(self) -> type[ProcessType]:
        from corepool.process import PROCESS_CLASSES

        return PROCESS_CLASSES[self._name]

    def Pool(  # type: ignore[override]
        self,
        processes: int | None = None,
        initializer: Any = None,
        initargs: Any = (),
        maxtasksperchild: int | None = None,
        **options: Any,
    ) -> PoolType:
        from corepool.pool import Pool

        return Pool(processes, initializer, initargs, maxtasksperchild, context=self, **options)

    def Manager(self) -> Any:
        from corepool.manager import Manager

        return Manager()

    def Pipe(self, duplex: bool = True) -> Any:
        return multiprocessing.connection.Pipe(duplex)

    def Lock(self) -> Any:
        return _corepool("Lock")()

    def RLock(self) -> Any:
        return _corepool("RLock")()

    def Condition(self, lock: Any = None) -> Any:
        return _corepool("Condition")(lock)

    def Semaphore(self, value: int = 1) -> Any:
        return _corepool("Semaphore")(value)

    def BoundedSemaphore(self, value: int = 1) -> Any:
        return _corepool("BoundedSemaphore")(value)

    def Event(self) -> Any:
        return _corepool("Event")()

    def Barrier(self, parties: int, action: Any = None, timeout: Any = None) -> Any:
        return _corepool("Barrier")(parties, action, timeout)

    def Queue(self, maxsize: int = 0) -> Any:
        return _corepool("Queue")(maxsize)

    def JoinableQueue(self, maxsize: int = 0) -> Any:
        return _corepool("JoinableQueue")(maxsize)

    def SimpleQueue(self) -> Any:
        return _corepool("SimpleQueue")()

    def RawValue(self, typecode_or_type: Any, *args: Any) -> Any:
        return _corepool("RawValue")(typecode_or_type, *args)

    def RawArray(self, typecode_or_type: Any, size_or_initializer: Any) -> Any:
        return _corepool("RawArray")(typecode_or_type, size_or_initializer)

    def Value(self, typecode_or_type: Any, *args: Any, lock: Any = True) -> Any:
        return _corepool("Value")(typecode_or_type, *args, lock=lock)

    def Array(self, typecode_or_type: Any, size_or_initializer: Any, *, lock: Any = True) -> Any:
        return _corepool("Array")(typecode_or_type, size_or_initializer, lock=lock)


class DefaultContext(Context):
    """The module-level context: its start method is the program's, read at each use."""

    def __init__(self) -> None:
        super().__init__("")

    def __repr__(self) -> str:
        return "<corepool default context>"

    def corepool_start_method(self) -> str:
        return start_method.effective_start_method()

    def get_start_method(self, allow_none: bool = False) -> str:
        if allow_none:
            return start_method.chosen_start_method()  # type: ignore[return-value]
        return start_method.fix_start_method()

    def set_start_method(self, method: str | None, force: bool = False) -> None:
        start_method.choose_start_method(method, force)

    def get_context(self, method: str | None = None) -> Context:  # type: ignore[override]
        if method is None:
            return _context_for(start_method.fix_start_method())
        return _context_for(method)

    def get_all_start_methods(self) -> list[str]:
        """The platform's methods, corepool's default first (as ``multiprocessing`` orders)."""
        methods = list(multiprocessing.get_all_start_methods())
        default = start_method.default_start_method()
        return [default, *(method for method in methods if method != default)]

    @property
    def Process(self) -> type[ProcessType]:
        from corepool.process import Process

        return Process


def _context_for(method: str) -> Context:
    if method not in _CONTEXTS:
        multiprocessing.get_context(method)  # ValueError: cannot find context for ...
        _CONTEXTS[method] = Context(method)
    return _CONTEXTS[method]


def _corepool(name: str) -> Any:
    import corepool

    return getattr(corepool, name)


_CONTEXTS: dict[str, Context] = {}
default_context = DefaultContext()
get_context = default_context.get_context
get_start_method = default_context.get_start_method
set_start_method = default_context.set_start_method
get_all_start_methods = default_context.get_all_start_methods
