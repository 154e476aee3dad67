"""``multiprocessing``'s process API, started with the program's start method.

``corepool.Process`` is ``multiprocessing.Process`` whose start method is the program's
(``corepool.set_start_method``, ``multiprocessing.set_start_method``, or corepool's default,
forkserver where available; ``_lifecycle.start_method``), looked up when ``start()`` runs;
``get_context(method).Process`` is bound to one method.  Code written for
``multiprocessing.Process`` runs unchanged after switching the import, and the corepool objects it
passes to its children (locks, queues, shared values and dicts) travel under every start method.

Where the child would not find the parent's ``__main__`` by re-importing it — a script that must
not be re-run (``_wire.main_script``: no ``__main__`` guard, or work at its top level, which is
then hidden while the child starts), ``python -c``, a program on stdin, a REPL — the target, its
arguments and a process class ``__main__`` defines travel by value instead (cloudpickle, with
``multiprocessing``'s own reducers, so queues, pipes and locks in the arguments still travel as
they always do).
``current_process``, ``active_children``, ``parent_process`` and ``cpu_count`` are
``multiprocessing``'s own.
"""

from __future__ import annotations

import copyreg
import functools
import io
import multiprocessing
import multiprocessing.process
import pickle
from collections import ChainMap
from typing import Any

from corepool._lifecycle.process_start import unimportable_main_hidden
from corepool._lifecycle.start_method import effective_start_method

__all__ = [
    "ForkProcess",
    "ForkServerProcess",
    "Process",
    "SpawnProcess",
    "active_children",
    "cpu_count",
    "current_process",
    "parent_process",
]

current_process = multiprocessing.current_process
active_children = multiprocessing.active_children
parent_process = multiprocessing.parent_process
cpu_count = multiprocessing.cpu_count


class Process(multiprocessing.process.BaseProcess):
    """``multiprocessing.Process``, with the program's start method (corepool's default)."""

    _start_method: str | None = None  # None: the program's choice when ``start()`` runs

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        method = process_obj._start_method or effective_start_method()
        return multiprocessing.get_context(method).Process._Popen(process_obj)  # type: ignore[attr-defined]

    def start(self) -> None:
        from corepool._wire.main_script import workers_reimport_main

        method = self._start_method or effective_start_method()
        self._start_method = method  # kept: the child (and a reader) can see how it started
        if method == "fork" or workers_reimport_main():
            super().start()
            return
        self._by_value = True
        call = _ByValue(self._call())
        self._target = _run_by_value
        self._args = (call,)
        self._kwargs: dict[str, Any] = {}
        with unimportable_main_hidden():
            super().start()

    def _call(self) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        return self._target, tuple(self._args), dict(self._kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        # Only ``multiprocessing`` pickles a process, for the child it starts.  A class the
        # script defines travels by value when the child will not re-run the script.
        cls: Any = type(self)
        if cls.__module__ == "__main__" and getattr(self, "_by_value", False):
            cls = _ByValue(cls)
        return (_rebuild_process, (cls, self.__dict__))


class ForkProcess(Process):
    _start_method = "fork"


class SpawnProcess(Process):
    _start_method = "spawn"


class ForkServerProcess(Process):
    _start_method = "forkserver"


PROCESS_CLASSES: dict[str, type[Process]] = {
    "fork": ForkProcess,
    "spawn": SpawnProcess,
    "forkserver": ForkServerProcess,
}


def _rebuild_process(cls: Any, state: dict[str, Any]) -> Process:
    process: Process = cls.__new__(cls)
    process.__dict__.update(state)
    return process


def _run_by_value(call: tuple[Any, tuple[Any, ...], dict[str, Any]]) -> Any:
    target, args, kwargs = call
    return None if target is None else target(*args, **kwargs)


class _ByValue:
    """Holds a value that pickles by value (cloudpickle) when the child process is started."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        try:
            blob = _dumps_by_value(self.value)
        except Exception as error:  # noqa: BLE001 - the one-line reason is the useful part
            raise RuntimeError(
                f"cannot send {self.value!r:.80} to the new process by value ({error}); the "
                "process does not re-run the main script because its top level does work: put "
                "that code under `if __name__ == '__main__':`"
            ) from None
        return (pickle.loads, (blob,))


def _dumps_by_value(value: Any) -> bytes:
    buffer = io.BytesIO()
    _pickler_class()(buffer, pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


@functools.cache
def _pickler_class() -> type[pickle.Pickler]:
    from multiprocessing.reduction import ForkingPickler

    import cloudpickle

    class ByValuePickler(cloudpickle.Pickler):  # type: ignore[misc]
        # multiprocessing's reducers first: connections, sockets and its queues and locks
        # travel to the child as they do when multiprocessing pickles them itself.
        dispatch_table = ChainMap(
            ForkingPickler._extra_reducers,  # type: ignore[attr-defined]
            cloudpickle.Pickler.dispatch_table,
            copyreg.dispatch_table,
        )

    return ByValuePickler
