"""Which functions of ``__main__`` a spawned or forkserver worker can find by name.

Such a worker re-imports the parent's main script (``multiprocessing`` runs it as ``__mp_main__``
without its ``if __name__ == "__main__":`` block), so a function defined once at the top of that
script can travel by reference, as with ``multiprocessing``: a few bytes, and neither side pays
cloudpickle (~10 ms to import in the parent and again in every fresh worker, a fifth of a pool's
whole start-up).  Everything else from ``__main__`` travels by value: functions defined inside the
``__main__`` block (the re-import never defines them), names bound more than once (the worker
would get the top-level version, not the one the parent holds), and any ``__main__`` that is not
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


def defined_once_at_top_level(qualname: str) -> bool:
    """Whether the main script defines ``qualname`` once, directly in its module body."""
    path = _reimported_script()
    if path is None or not qualname.isidentifier():
        return False
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        return False
    return qualname in _top_level_names_bound_once(path, stamp)


def _reimported_script() -> str | None:
    """The file a worker will run as its ``__mp_main__``, as ``multiprocessing`` finds it."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not isinstance(path, str) or getattr(main, "__spec__", None) is not None:
        return None  # no file, or ``python -m`` (the worker imports by module name: not parsed)
    base = getattr(multiprocessing.process, "ORIGINAL_DIR", None) or os.getcwd()
    path = os.path.normpath(os.path.join(base, path))
    return path if os.path.isfile(path) else None


@functools.lru_cache(maxsize=4)
def _top_level_names_bound_once(path: str, stamp: int) -> frozenset[str]:
    """Names a def or class in the module body binds, and nothing else in the file rebinds."""
    try:
        with open(path, "rb") as source:
            tree = ast.parse(source.read(), path)
    except (OSError, SyntaxError, ValueError):
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
