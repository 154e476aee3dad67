"""Load CPython's own test classes from the running interpreter and point them at corepool.

Nothing of CPython's test code is copied into this repository: each compat module imports the
``test`` package of the interpreter that runs pytest, and builds its test classes from the bases
found there, the way CPython's ``install_tests_in_module_dict`` / ``create_executor_tests`` do,
with corepool's objects bound where CPython binds ``multiprocessing``'s or ``concurrent.futures``'s:

    CPython base (test logic)  +  corepool mixin (what ``self.Pool``, ``self.Lock``,
    ``self.executor_type`` ... are)  +  ``unittest.TestCase``  ->  class pytest collects

Some CPython tests name the standard module directly (``multiprocessing.Pool(2)``,
``futures.ThreadPoolExecutor(1)``) instead of going through the mixin.  For those, the class gets
copies of its methods whose module globals see a *facade* in place of that module: the facade
answers corepool's object for the names a program would take from corepool after
``import corepool as multiprocessing`` (``Pool``, ``Queue``, ...) and the standard module's for the
rest (``multiprocessing.pool.RemoteTraceback``, ``futures.TimeoutError`` stay the standard types a
drop-in must still match).
"""

from __future__ import annotations

import importlib
import sys
import types
import unittest
from collections.abc import Iterable, Mapping
from typing import Any

import pytest


def import_cpython_test(name: str) -> types.ModuleType:
    """``test.<name>`` of the running interpreter, or skip the calling module saying why not."""
    version = "Python {}.{}.{}".format(*sys.version_info[:3])
    try:
        import test.support  # noqa: F401
    except ImportError as error:
        pytest.skip(
            f"{version} has no `test` package (the stdlib test suite is not installed: {error})",
            allow_module_level=True,
        )
    try:
        return importlib.import_module(name)
    except ImportError as error:
        pytest.skip(f"{version} has no {name} ({error})", allow_module_level=True)
    except unittest.SkipTest as error:
        pytest.skip(f"{version}: {name} skips itself: {error}", allow_module_level=True)


def facade(standard: types.ModuleType, replacements: Mapping[str, Any]) -> types.ModuleType:
    """A module that answers ``replacements`` first and ``standard``'s attributes otherwise."""
    module = types.ModuleType(f"corepool-facade-for-{standard.__name__}")
    module.__dict__.update(replacements)

    def __getattr__(name: str) -> Any:
        return getattr(standard, name)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def _rebound(function: types.FunctionType, globals_: dict[str, Any]) -> types.FunctionType:
    copy = types.FunctionType(
        function.__code__, globals_, function.__name__, function.__defaults__, function.__closure__
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__dict__.update(function.__dict__)  # unittest.skip* and expectedFailure markers
    return copy


def rebound_members(
    bases: Iterable[type], modules: Mapping[str, Any], mixins: Iterable[type] = ()
) -> dict[str, Any]:
    """Copies of the functions the CPython ``bases`` define, seeing ``modules`` as globals.

    ``modules`` maps a global name (``"multiprocessing"``) to what the copies see under it; only
    the classes defined in a module that uses that name are copied, the rest are inherited as is.
    Methods of bases listed earlier win, as in the MRO of the class they end up in.  Classes the
    ``mixins`` inherit from are left alone: a copy of (say) ``ExecutorMixin.get_context`` in the
    new class would shadow the mixin's own override of it.
    """
    shared = {klass for mixin in mixins for klass in mixin.__mro__}
    members: dict[str, Any] = {}
    for base in reversed(tuple(bases)):
        for klass in reversed(base.__mro__):
            home = sys.modules.get(klass.__module__)
            if klass in shared or not klass.__module__.startswith("test.") or home is None:
                continue  # only CPython's test code is rebound, never unittest's or corepool's
            if not any(name in vars(home) for name in modules):
                continue
            globals_ = {**vars(home), **modules}
            for name, value in vars(klass).items():
                if isinstance(value, types.FunctionType):
                    members[name] = _rebound(value, globals_)
                elif isinstance(value, classmethod | staticmethod) and isinstance(
                    value.__func__, types.FunctionType
                ):
                    members[name] = type(value)(_rebound(value.__func__, globals_))
    return members


def make_test_class(
    name: str,
    bases: tuple[type, ...],
    module: str,
    members: Mapping[str, Any] | None = None,
) -> type:
    """A ``unittest.TestCase`` subclass named ``name`` that pickles by reference to ``module``.

    Worker processes find the class again by importing ``module`` (CPython's tests pass bound
    classmethods such as ``cls._test_put`` to ``Process``), so ``module`` must build the same
    classes at import time in every process.
    """
    if unittest.TestCase not in bases and not any(issubclass(b, unittest.TestCase) for b in bases):
        bases = (*bases, unittest.TestCase)
    namespace = {**(members or {}), "__module__": module, "__qualname__": name}
    return type(name, bases, namespace)
