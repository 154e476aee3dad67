"""Whether workers may re-run the main script, and which of its functions they can find by name.

``multiprocessing`` makes a spawned or forkserver worker re-import the parent's main script (as
``__mp_main__``, without its ``if __name__ == "__main__":`` block), so that a function defined at
the top of that script can travel by reference.  corepool lets that happen only where it is
harmless: the script has the guard, and everything outside it only *defines* things (imports,
functions, classes, assignments that start no pool or process, and ``if``/``try`` made of
those).  A script with work at its top level — no guard, a ``print``, ``with`` or loop outside it,
or ``pool = Pool()`` — is not re-run by workers
(``_lifecycle.process_start.unimportable_main_hidden`` hides it while a worker starts): otherwise
each worker would run the program again, starting pools of its own.

A function defined once at the top of a re-importable script travels by reference, as with
``multiprocessing``: a few bytes, and neither side pays cloudpickle (~10 ms to import in the parent
and again in every fresh worker, a fifth of a pool's whole start-up).  Everything else from
``__main__`` travels by value: functions defined inside the ``__main__`` block (the re-import never
defines them), names bound more than once (the worker would get the top-level version, not the one
the parent holds), all of a script that workers do not re-import, and any ``__main__`` that is not
a script file (a REPL, ``python -c``, a notebook, a program on stdin).
"""

from __future__ import annotations

import ast
import functools
import multiprocessing.process
import os
import sys
from collections import Counter

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Top-level statements a re-import may run again: they define names and do no visible work.
_DECLARATIONS = (
    *_DEFINITIONS,
    ast.Import,
    ast.ImportFrom,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Pass,
    ast.Global,
)


def defined_once_at_top_level(qualname: str) -> bool:
    """Whether a worker's re-import of the main script defines ``qualname``, once."""
    path = _reimported_script()
    if path is None or not qualname.isidentifier():
        return False
    return qualname in _top_level_names_bound_once(path, _stamp(path))


def workers_reimport_main() -> bool:
    """Whether a spawned or forkserver worker gets ``__main__`` by re-importing it.

    True for a script harmless to re-run, and for a ``python -m`` module whose file cannot be
    read (trusted, as ``multiprocessing`` would); False for a script with work at its top level,
    a ``__file__`` that names no file, and a ``__main__`` with nothing to import (a REPL,
    ``python -c``): in all of those, what workers need of ``__main__`` must travel by value.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    by_name = getattr(main, "__spec__", None) is not None
    resolved = _resolve(path) if isinstance(path, str) else None
    if resolved is None:
        return by_name
    return _harmless_to_rerun(resolved, _stamp(resolved))


def main_must_be_hidden() -> bool:
    """Whether ``multiprocessing`` would have a new process import a ``__main__`` it must not."""
    main = sys.modules.get("__main__")
    if main is None:
        return False
    names_a_module = getattr(main, "__spec__", None) is not None
    return (names_a_module or hasattr(main, "__file__")) and not workers_reimport_main()


def _reimported_script() -> str | None:
    """The file a worker runs as its ``__mp_main__``, if it runs one and ``ast`` can read it."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not isinstance(path, str) or getattr(main, "__spec__", None) is not None:
        return None  # no file, or ``python -m`` (the worker imports by module name: not parsed)
    resolved = _resolve(path)
    if resolved is None or not _harmless_to_rerun(resolved, _stamp(resolved)):
        return None
    return resolved


def _resolve(path: str) -> str | None:
    base = getattr(multiprocessing.process, "ORIGINAL_DIR", None) or os.getcwd()
    resolved = os.path.normpath(os.path.join(base, path))
    return resolved if os.path.isfile(resolved) else None


def _stamp(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


@functools.lru_cache(maxsize=4)
def _parse(path: str, stamp: int) -> ast.Module | None:
    try:
        with open(path, "rb") as source:
            return ast.parse(source.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=4)
def _harmless_to_rerun(path: str, stamp: int) -> bool:
    tree = _parse(path, stamp)
    if tree is None:
        return False
    guards = [node for node in tree.body if _is_main_guard(node)]
    rest = [node for node in tree.body if not _is_main_guard(node)]
    return bool(guards) and all(map(_declarative, rest))


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    names = [side.id for side in sides if isinstance(side, ast.Name)]
    texts = [side.value for side in sides if isinstance(side, ast.Constant)]
    return names == ["__name__"] and texts == ["__main__"]


# Calls that start processes or threads of work: ``pool = Pool()`` at the top of a script is an
# assignment, but a worker re-running it would start a pool of its own.
_STARTS_WORKERS = frozenset(
    (
        "Pool",
        "ThreadPool",
        "ProcessPoolExecutor",
        "ThreadPoolExecutor",
        "Executor",
        "Process",
        "Manager",
        "SyncManager",
        "start",
    )
)


def _starts_workers(node: ast.stmt) -> bool:
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in _STARTS_WORKERS:
                return True
    return False


def _declarative(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return not _starts_workers(node)  # a definition's body runs only when it is called
    if isinstance(node, _DECLARATIONS):
        return True
    if isinstance(node, ast.Expr):  # a docstring or a bare constant
        return isinstance(node.value, ast.Constant)
    if isinstance(node, ast.If):  # ``if TYPE_CHECKING:``, ``if sys.version_info >= ...:``
        return all(map(_declarative, [*node.body, *node.orelse]))
    if isinstance(node, ast.Try):  # ``try: import fast except ImportError: import slow``
        handlers = [statement for handler in node.handlers for statement in handler.body]
        return all(map(_declarative, [*node.body, *handlers, *node.orelse, *node.finalbody]))
    return False


@functools.lru_cache(maxsize=4)
def _top_level_names_bound_once(path: str, stamp: int) -> frozenset[str]:
    """Names a def or class in the module body binds, and nothing else in the file rebinds."""
    tree = _parse(path, stamp)
    if tree is None:
        return frozenset()
    bindings = Counter(_bound_names(tree))
    top = {node.name for node in tree.body if isinstance(node, _DEFINITIONS)}
    return frozenset(name for name in top if bindings[name] == 1)


def _bound_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, _DEFINITIONS):
            names.append(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.append(node.id)
        elif isinstance(node, ast.alias):
            names.append((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.extend(node.names)
    return names
