"""A function of ``__main__`` sent by name, which the worker checks is the parent's very function.

Pickle sends a function by reference as its module and name; the worker takes whatever its
``__main__`` has under that name.  A worker forked from the zygote has a copy of the program's
``__main__`` as it was then, so a function the program defined before then is the same function
there.  Should a worker come from elsewhere (the zygote was killed: the forkserver's workers
re-import the main script, or do not run it at all), the name may be missing, or bound to
another function: the script's top-level version of a name the program rebound, say.  So the
name travels with the function's fingerprint (its file, first line, bytecode, and the names and
constants that refers to), and a worker whose function by that name differs refuses it: the
parent then sends the function by value (``FunctionUnreadable``), as for any function a worker
lacks.

Checking in the worker spares the program the alternative, reading its main script with ``ast``
to prove which names a re-import would bind (~3 ms of a program's first pool).
"""

from __future__ import annotations

import sys
import types
from typing import Any

Fingerprint = tuple[Any, ...]


def fingerprint(fn: types.FunctionType) -> Fingerprint:
    return _code_print(fn.__code__)


def _code_print(code: types.CodeType) -> Fingerprint:
    # The bytecode alone does not tell ``return 'a'`` from ``return 'b'``: the constants and
    # names it refers to by index come too, nested code (inner functions, comprehensions) by
    # its own print, since a code object pickles by neither value nor a stable name.
    constants = tuple(
        _code_print(constant) if isinstance(constant, types.CodeType) else constant
        for constant in code.co_consts
    )
    return code.co_filename, code.co_firstlineno, code.co_code, code.co_names, constants


class MainReference:
    """Pickles as a call to ``find`` in the worker: the name and the fingerprint, no code."""

    def __init__(self, fn: types.FunctionType) -> None:
        self._fn = fn

    def __reduce__(self) -> tuple[Any, ...]:
        return find, (self._fn.__qualname__, fingerprint(self._fn))


def find(qualname: str, expected: Fingerprint) -> types.FunctionType:
    """The worker's ``__main__.<qualname>``, if it is the function the parent sent."""
    found = getattr(sys.modules["__main__"], qualname, None)
    if not isinstance(found, types.FunctionType) or fingerprint(found) != expected:
        raise LookupError(
            f"this worker's __main__ has no function {qualname!r} like the parent's "
            "(the parent sends it by value)"
        )
    return found
