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
from collections.abc import Mapping
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


def _defining(cls: type, name: str) -> tuple[type, Any]:
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass, vars(klass)[name]
    raise AttributeError(name)


def rebind_globals(cls: type, modules: Mapping[str, Any]) -> None:
    """Make the CPython test code ``cls`` runs see ``modules`` (name -> object) as its globals.

    Every attribute of ``cls`` that resolves to a function (or class/static method) defined in
    CPython's ``test`` package, in a module that uses one of those names, is replaced on ``cls``
    by a copy whose globals map those names to the given objects.  Only the function that
    attribute lookup finds is copied, so the MRO still decides which one runs; a method it calls
    through ``super()``, or one wrapped by a decorator defined elsewhere
    (``hashlib_helper.requires_hashdigest``), keeps the standard module.
    """
    for name in dir(cls):
        klass, value = _defining(cls, name)
        if klass is cls or not klass.__module__.startswith("test."):
            continue  # only CPython's test code is rebound, never unittest's or corepool's
        wrapper = type(value) if isinstance(value, classmethod | staticmethod) else None
        function = value.__func__ if wrapper is not None else value
        if not isinstance(function, types.FunctionType):
            continue
        if not any(module_name in function.__globals__ for module_name in modules):
            continue
        copy = _rebound(function, {**function.__globals__, **modules})
        setattr(cls, name, wrapper(copy) if wrapper is not None else copy)


def make_test_class(
    name: str,
    bases: tuple[type, ...],
    module: str,
    modules: Mapping[str, Any] | None = None,
    members: Mapping[str, Any] | None = None,
) -> type:
    """A ``unittest.TestCase`` subclass named ``name`` that pickles by reference to ``module``.

    ``modules`` are the globals CPython's test code sees instead of the standard modules
    (``rebind_globals``); ``members`` are class attributes set on the new class as they are.
    Worker processes find the class again by importing ``module`` (CPython's tests pass bound
    classmethods such as ``cls._test_put`` to ``Process``), so ``module`` must build the same
    classes at import time in every process.
    """
    if not any(issubclass(base, unittest.TestCase) for base in bases):
        bases = (*bases, unittest.TestCase)
    namespace = {**(members or {}), "__module__": module, "__qualname__": name}
    cls = type(name, bases, namespace)
    if modules:
        rebind_globals(cls, modules)
    return cls
