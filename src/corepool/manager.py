"""``corepool.Manager()``: ``multiprocessing.Manager()``'s API without a server process.

``multiprocessing``'s manager runs a server process and hands out proxies: every operation is a
round trip to it (~40 µs), ``d[k] += 1`` races without a lock, and its locks cannot be passed to
a pool task.  corepool's objects live in shared memory and are passable everywhere, so the
manager here is only a factory with the same method names: ``manager.dict()`` is a
``corepool.Dict``, ``manager.Lock()`` a ``corepool.Lock``, and so on.  Code written for
``multiprocessing.Manager`` runs unchanged after switching the import.

Lifecycle: the manager owns what it made.  ``shutdown()`` (or leaving the ``with`` block) closes
the dicts and lists it created, as shutting down a ``multiprocessing`` manager invalidates its
proxies; the locks, queues and values follow their own lifecycle (they go when nobody holds them).

Errors: making an object can fail (``manager.Pool(0)``, ``manager.Queue("x")``).  The standard
manager's server reports any such failure as a ``multiprocessing.managers.RemoteError``; here
the error is raised as it is and is also a ``RemoteError`` (``_made_as_by_a_server``), so code
that catches either keeps working.

``Manager(address=..., authkey=...)`` is the other kind: the standard library's manager server
(``corepool.managers.SyncManager``), for processes on other machines to connect to.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from corepool import managers
    from corepool.pool import Pool
    from corepool.shared.shared_dict import Dict
    from corepool.shared.shared_list import List
    from corepool.sync import locks
    from corepool.sync.barrier import Barrier
    from corepool.sync.condition import Condition
    from corepool.sync.event import Event
    from corepool.sync.queues import JoinableQueue
    from corepool.sync.semaphores import BoundedSemaphore, Semaphore
    from corepool.sync.sharedctypes import Synchronized, SynchronizedArray

__all__ = ["Manager", "Namespace", "SyncManager"]

Owned = TypeVar("Owned", bound="Dict[Any, Any] | List[Any]")
Factory = TypeVar("Factory", bound=Callable[..., Any])


_remote_kinds: dict[type[Exception], type[Exception] | None] = {}
"""One combined type per original type (None: it cannot be combined)."""


def _made_as_by_a_server(factory: Factory) -> Factory:
    """``factory``, whose errors are also ``RemoteError`` (see the module docstring)."""

    @functools.wraps(factory)
    def make(*args: Any, **kwargs: Any) -> Any:
        try:
            return factory(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any failure: the server reports them all
            raise _also_remote(error).with_traceback(error.__traceback__) from error.__cause__

    return make  # type: ignore[return-value]


def _also_remote(error: Exception) -> Exception:
    from multiprocessing.managers import RemoteError

    original = type(error)
    if original not in _remote_kinds:
        try:
            kind: type[Exception] | None = type(
                original.__name__,
                (original, RemoteError),
                {
                    "__module__": original.__module__,
                    "__qualname__": f"{original.__qualname__}[RemoteError]",
                    "__str__": original.__str__,  # not RemoteError's framed traceback
                    "__reduce__": _reduce_remote,
                    "_original": original,
                },
            )
        except TypeError:  # a final class, or a layout clash: raised as it is
            kind = None
        _remote_kinds[original] = kind
    kind = _remote_kinds[original]
    if kind is None:
        return error
    try:
        combined = kind.__new__(kind, *error.args)
        original.__init__(combined, *error.args)
    except Exception:  # noqa: BLE001 - a constructor that wants other arguments
        return error
    combined.__dict__.update(vars(error))
    return combined


def _reduce_remote(self: Exception) -> tuple[object, ...]:
    return (_also_remote_again, (self._original, self.args, vars(self)))  # type: ignore[attr-defined]


def _also_remote_again(
    original: type[Exception], args: tuple[Any, ...], state: dict[str, Any]
) -> Exception:
    error = original.__new__(original, *args)
    error.args = args
    error.__dict__.update(state)
    return _also_remote(error)


class Namespace:
    """Attributes shared across processes (``multiprocessing``'s ``Namespace`` proxy).

    Backed by a ``corepool.Dict``: each attribute is a copy, as with a dict value; assign to
    change it (``ns.items = ns.items + [x]``, not ``ns.items.append(x)``).
    """

    def __init__(self, store: Any = None, /, **attributes: Any) -> None:
        if store is None:
            from corepool.shared.shared_dict import Dict

            store = Dict(attributes)
        object.__setattr__(self, "_store", store)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._store[name]
        except KeyError:
            raise AttributeError(f"'Namespace' object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._store[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._store[name]
        except KeyError:
            raise AttributeError(name) from None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Namespace, (self._store,))

    def __repr__(self) -> str:
        # As multiprocessing.managers.Namespace: sorted, and _private names left out.
        fields = sorted(
            f"{key}={value!r}" for key, value in self._store.items() if not key.startswith("_")
        )
        return f"Namespace({', '.join(fields)})"


class SyncManager:
    """What ``corepool.Manager()`` returns; already started, like ``multiprocessing``'s."""

    def __init__(self) -> None:
        self._owned: list[Any] = []
        self._lock = threading.Lock()
        self._running = True

    # -- lifecycle (kept for code written for multiprocessing's managers)

    def start(
        self, initializer: Callable[..., object] | None = None, initargs: Iterable[Any] = ()
    ) -> None:
        """Nothing to start (there is no server); runs ``initializer`` here, once."""
        if initializer is not None:
            initializer(*initargs)

    def shutdown(self) -> None:
        """Close the dicts and lists this manager made."""
        with self._lock:
            owned, self._owned = self._owned, []
            self._running = False
        for obj in owned:
            obj.close()

    def join(self, timeout: float | None = None) -> None:
        """Nothing to wait for."""

    def __enter__(self) -> SyncManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()

    def _own(self, obj: Owned) -> Owned:
        with self._lock:
            self._owned.append(obj)
        return obj

    # -- containers

    @_made_as_by_a_server
    def dict(
        self, mapping: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None = None, /, **kwargs: Any
    ) -> Dict[Any, Any]:
        from corepool.shared.shared_dict import Dict

        return self._own(Dict(mapping, **kwargs))

    @_made_as_by_a_server
    def list(self, sequence: Iterable[Any] = (), /) -> List[Any]:
        from corepool.shared.shared_list import List

        return self._own(List(sequence))

    @_made_as_by_a_server
    def Namespace(self, **attributes: Any) -> Namespace:
        from corepool.shared.shared_dict import Dict

        return Namespace(self._own(Dict(attributes)))

    # -- synchronisation and queues: corepool's own, passable everywhere

    @_made_as_by_a_server
    def Lock(self) -> locks.Lock:
        from corepool.sync.locks import Lock

        return Lock()

    @_made_as_by_a_server
    def RLock(self) -> locks.RLock:
        from corepool.sync.locks import RLock

        return RLock()

    @_made_as_by_a_server
    def Semaphore(self, value: int = 1) -> Semaphore:
        from corepool.sync.semaphores import Semaphore

        return Semaphore(value)

    @_made_as_by_a_server
    def BoundedSemaphore(self, value: int = 1) -> BoundedSemaphore:
        from corepool.sync.semaphores import BoundedSemaphore

        return BoundedSemaphore(value)

    @_made_as_by_a_server
    def Condition(self, lock: locks.Lock | locks.RLock | None = None) -> Condition:
        from corepool.sync.condition import Condition

        return Condition(lock)

    @_made_as_by_a_server
    def Event(self) -> Event:
        from corepool.sync.event import Event

        return Event()

    @_made_as_by_a_server
    def Barrier(
        self, parties: int, action: Callable[[], object] | None = None, timeout: float | None = None
    ) -> Barrier:
        from corepool.sync.barrier import Barrier

        return Barrier(parties, action, timeout)

    @_made_as_by_a_server
    def Queue(self, maxsize: int = 0) -> JoinableQueue[Any]:
        """A queue with ``task_done``/``join``: the standard manager's ``Queue`` is a
        ``queue.Queue``, which has them."""
        from corepool.sync.queues import JoinableQueue

        return JoinableQueue(maxsize)

    @_made_as_by_a_server
    def JoinableQueue(self, maxsize: int = 0) -> JoinableQueue[Any]:
        from corepool.sync.queues import JoinableQueue

        return JoinableQueue(maxsize)

    @_made_as_by_a_server
    def Value(self, typecode: Any, value: Any, lock: Any = True) -> Synchronized[Any]:
        from corepool.sync.sharedctypes import Value

        shared: Synchronized[Any] = Value(typecode, value, lock=lock)
        return shared

    @_made_as_by_a_server
    def Array(self, typecode: Any, sequence: Any, lock: Any = True) -> SynchronizedArray[Any]:
        from corepool.sync.sharedctypes import Array

        shared: SynchronizedArray[Any] = Array(typecode, sequence, lock=lock)
        return shared

    @_made_as_by_a_server
    def Pool(self, *args: Any, **kwargs: Any) -> Pool:
        from corepool.pool import Pool

        return Pool(*args, **kwargs)


@overload
def Manager() -> SyncManager: ...


@overload
def Manager(address: Any, authkey: bytes | None = None, **options: Any) -> managers.SyncManager: ...


def Manager(
    address: Any = None, authkey: bytes | None = None, **options: Any
) -> SyncManager | managers.SyncManager:
    """A started manager.

    Without ``address``: no server process (see the module docstring).  With ``address``: the
    standard library's manager server, started there (``corepool.managers.SyncManager``), for
    processes on other machines to ``connect()`` to; a network address needs ``authkey=``
    (``docs/manager.md``)."""
    if address is None:
        if authkey is not None or options:
            raise TypeError(
                "Manager() without address= starts no server, so it takes no authkey or server "
                "options; pass address=(host, port) (or a unix socket path) to serve others"
            )
        return SyncManager()
    from corepool import managers

    served = managers.SyncManager(address, authkey, **options)
    served.start()
    return served
