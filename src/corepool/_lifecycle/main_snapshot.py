"""What ``__main__`` held when the zygote was forked, and whether a function still runs the same
from the zygote's copy of it.

A worker forked from the zygote has ``__main__`` as it was at that fork (the program's first
pool).  A function of the script is the same function there if the program still has it under
its own name, and it runs the same there if everything of ``__main__`` it reads is too: the
script's other functions (checked the same way), and modules, classes and functions the script
imported, still bound as at the fork.  Data of ``__main__`` (a number, a list, a class of the
script, whose attributes may change) may have changed since: a function that reads any travels
by value, with the data as it is now, as ``multiprocessing.Pool`` under ``fork`` would give it.
A function that passes goes by name (``_wire.main_reference``): a few bytes instead of its code
pickled by cloudpickle, which the program and every new worker would first import (~45 ms of a
script's first pool on this machine).
"""

from __future__ import annotations

import sys
import types
import weakref
from typing import Any

_ABSENT = object()


class MainSnapshot:
    def __init__(self, held: dict[str, object] | None = None) -> None:
        self._held = held or {}
        """By name: the script's functions bound to their own name (weakly: rebinding one
        frees it), and the modules, classes and functions it imported from elsewhere."""

    @classmethod
    def take(cls) -> MainSnapshot:
        main = sys.modules.get("__main__")
        held: dict[str, object] = {}
        for name, value in list(vars(main).items()) if main is not None else ():
            if isinstance(value, types.FunctionType) and value.__module__ == "__main__":
                if value.__qualname__ == name:
                    held[name] = weakref.ref(value)
            elif isinstance(value, types.ModuleType) or (
                isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType))
                and getattr(value, "__module__", None) != "__main__"
            ):
                held[name] = value
        return cls(held)

    def holds(self, fn: object) -> bool:
        """Whether ``fn``, a function of ``__main__``, runs from the snapshot as it would in the
        program now."""
        main = sys.modules.get("__main__")
        if main is None or not isinstance(fn, types.FunctionType):
            return False
        return self._unchanged(fn, vars(main), set())

    def _unchanged(self, fn: types.FunctionType, names: dict[str, Any], seen: set[str]) -> bool:
        held = self._held.get(fn.__qualname__)
        if not isinstance(held, weakref.ref) or held() is not fn:
            return False
        seen.add(fn.__qualname__)
        for name in _names_read(fn.__code__):
            if name not in names or name in seen:
                continue  # a builtin, a local's attribute name, or checked already
            value = names[name]
            if getattr(value, "__module__", None) == "__main__":
                if not isinstance(value, types.FunctionType):
                    return False  # a class of the script: its attributes may have changed
                if not self._unchanged(value, names, seen):
                    return False
            elif self._held.get(name, _ABSENT) is not value:
                return False  # data, or rebound since the fork
        return True


def _names_read(code: types.CodeType) -> set[str]:
    """The global (and attribute) names a function's code and its nested code refer to."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names_read(constant)
    return names
