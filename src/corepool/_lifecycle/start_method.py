"""Which start method worker processes use, and why.

corepool starts workers with **forkserver** wherever the platform has it (Linux, macOS, the BSDs),
and **spawn** elsewhere, on every Python version:

* ``fork`` copies the parent as it is, including locks held by its other threads at that instant;
  a pool's own threads (and any the program runs) make that a deadlock waiting to happen, which is
  why Python 3.12 warns about it and 3.14 stopped using it by default on Linux.
* ``forkserver`` forks each worker from a single-threaded server process started once, so
  workers start in milliseconds without inheriting the parent's threads or their locks.
* ``spawn`` is the safe fallback: a fresh interpreter per worker, slower to start.

By default the server is the *zygote* (``zygote``): a fork of the program made at its first pool,
at a moment when the program has one thread, instead of a fresh interpreter (~2 ms instead of
~85-150 ms on a 2-core machine).  Where that would not be harmless (another Python thread, a
native one that lives through the fork, corepool shared memory held, a large program),
``multiprocessing``'s forkserver serves as before.

A program chooses another the ways it would with ``multiprocessing``, most specific first:

1. ``context=`` (``Pool``) or ``mp_context=`` (executors): a start-method name, a
   ``multiprocessing`` context or a ``corepool.get_context(...)``;
2. ``corepool.set_start_method(method)`` (which also sets ``multiprocessing``'s, so that code the
   program calls which uses ``multiprocessing`` itself agrees);
3. ``multiprocessing.set_start_method(method)`` called by the program — seen whenever it chose a
   method other than the interpreter's default (a program that picks the default, ``fork`` on
   Linux before 3.14, cannot be told apart from one that chose nothing, and gets forkserver);
4. otherwise the default above.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.process

from corepool._lifecycle.process_start import preload_worker_module


def default_start_method() -> str:
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class _Choice:
    """The start method the program chose through corepool (None: it chose none yet)."""

    method: str | None = None
    is_default = False
    """``method`` was fixed by asking for it (or ``set_start_method(None)``), not chosen."""


def chosen_start_method() -> str | None:
    """The method the program chose (``set_start_method`` of corepool or of multiprocessing)."""
    if _Choice.method is not None:
        return _Choice.method
    return _chosen_through_multiprocessing()


def _chosen_through_multiprocessing() -> str | None:
    default = multiprocessing.context._default_context
    actual = getattr(default, "_actual_context", None)
    if actual is None or actual is getattr(default, "_default_context", None):
        return None  # nothing set, or fixed implicitly by a first use: the interpreter's default
    return str(actual.get_start_method())


def effective_start_method() -> str:
    """The method a pool or process created now without ``context=`` uses."""
    return chosen_start_method() or default_start_method()


def choose_start_method(method: str | None, force: bool = False) -> None:
    """``set_start_method`` with the standard library's rules (and its messages)."""
    if _Choice.method is not None and not force:
        raise RuntimeError("context has already been set")
    if method is None and force:
        _Choice.method, _Choice.is_default = None, False
        multiprocessing.set_start_method(None, force=True)
        return
    if method is None:  # as ``multiprocessing``: fixes the default
        _Choice.method, _Choice.is_default = default_start_method(), True
        return
    checked = multiprocessing.get_context(method)  # ValueError for a method this platform lacks
    multiprocessing.set_start_method(method, force=True)
    _Choice.method, _Choice.is_default = checked.get_start_method(), False


def fix_start_method() -> str:
    """``get_start_method()``: once asked, the method is fixed, as in the standard library."""
    if _Choice.method is None:
        _Choice.is_default = chosen_start_method() is None
        _Choice.method = effective_start_method()
    return _Choice.method


def _default_in_effect() -> bool:
    """No method was chosen: the default (and its zygote) applies."""
    return _Choice.is_default or chosen_start_method() is None


def resolve_context(
    context: multiprocessing.context.BaseContext | str | None,
) -> multiprocessing.context.BaseContext:
    if context is None and _default_in_effect() and default_start_method() == "forkserver":
        from corepool._lifecycle.zygote_start import ZYGOTE_CONTEXT

        # Not preloaded here: the zygote has the worker's modules, and when it cannot serve,
        # ``ZygoteProcess`` preloads them itself (``multiprocessing.forkserver``, ~2 ms, unused).
        return ZYGOTE_CONTEXT
    if context is None:
        resolved: multiprocessing.context.BaseContext = multiprocessing.get_context(
            effective_start_method()
        )
    elif isinstance(context, str):
        resolved = multiprocessing.get_context(context)
    elif isinstance(context, multiprocessing.context.BaseContext):
        # corepool's own contexts (``corepool.get_context``) name a method: use the standard one.
        method = getattr(context, "corepool_start_method", None)
        resolved = context if method is None else multiprocessing.get_context(method())
    else:
        raise TypeError(
            f"context must be a start method name or a multiprocessing context, not {context!r}"
        )
    if resolved.get_start_method() == "forkserver":
        preload_worker_module()
    return resolved


def uses_zygote(context: multiprocessing.context.BaseContext) -> bool:
    """Whether workers of this (resolved) context come from the zygote when it runs."""
    from corepool._lifecycle.zygote_start import ZygoteContext

    return isinstance(context, ZygoteContext)
