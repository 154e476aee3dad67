"""``corepool bench module:function --args ...``: the user's own function as a ``Workload``.

    "mymod:func"  ─ load_function ─▶ func        (current directory first on sys.path, as python -m)
    "range:100"   ─ read_args ─────▶ [0..99]     (or a file: one argument per line)
    func, args    ─ first_call ────▶ seconds     (runs args[0] here; an exception stops the bench)
                  ─ user_workload ─▶ Workload    (as many args as fill the time budget)

Every problem the user can fix (a module that does not import, a name that is not there or not
callable, an unreadable or empty argument file) is a ``BenchInputError`` with one line that says
so; the function raising on its first argument is a ``FirstCallError`` carrying the traceback.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from corepool.cli._bench.workloads import Workload, worker_ladder

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


class BenchInputError(Exception):
    """Something on the command line the user must fix; the message says what."""


class FirstCallError(Exception):
    """The user's function raised on the first argument; ``details`` is the traceback."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Star:
    """``fn(*args)`` for ``--star``: picklable (it pickles ``fn`` by reference), unlike a lambda."""

    fn: Callable[..., Any]

    def __call__(self, args: Sequence[Any]) -> Any:
        return self.fn(*args)


def load_function(spec: str) -> Callable[..., Any]:
    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name:
        raise BenchInputError(f"expected module:function (like mymod:work), got {spec!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: the current directory comes first
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # whatever the import raised, in one line
        raise BenchInputError(
            f"cannot import module {module_name!r}: {type(error).__name__}: {error}"
        ) from error
    found: Any = module
    for part in name.split("."):
        if not hasattr(found, part):
            raise BenchInputError(f"module {module_name!r} has no attribute {name!r}")
        found = getattr(found, part)
    if not callable(found):
        raise BenchInputError(f"{spec} is not callable: it is {_short(found)}")
    return found  # type: ignore[no-any-return]


def read_args(spec: str, star: bool = False) -> list[Any]:
    """``range:N`` (0..N-1), or a file: one argument per non-empty line, read as JSON when its
    name ends in .json, .jsonl or .ndjson, else as a plain string (the line without its end)."""
    if spec.startswith("range:"):
        count = spec.removeprefix("range:")
        if not count.isdigit() or int(count) < 1:
            raise BenchInputError(f"--args range:N needs a whole number N >= 1, got {spec!r}")
        found: list[Any] = list(range(int(count)))
    else:
        found = _read_file(Path(spec))
    if star:
        bad = next((arg for arg in found if not isinstance(arg, list | tuple)), None)
        if bad is not None:
            raise BenchInputError(f"--star needs a list per argument (a JSON array), got {bad!r}")
    return found


def _read_file(path: Path) -> list[Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise BenchInputError(f"cannot read --args {str(path)!r}: {error.strerror}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BenchInputError(f"--args {str(path)!r} has no arguments (no non-empty line)")
    if path.suffix not in JSON_SUFFIXES:
        return lines
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise BenchInputError(f"{path}:{number}: not JSON: {error.msg}") from None
    return found


def first_call(fn: Callable[[Any], Any], arg: Any) -> float:
    """Runs ``fn(arg)`` here, once, and times it: a function that fails fails before any pool."""
    started = time.perf_counter()
    try:
        fn(arg)
    except Exception as error:  # the user's function may raise anything
        raise FirstCallError(
            f"the function raised on the first argument {_short(arg)}: "
            f"{type(error).__name__}: {error}",
            "".join(traceback.format_exception(type(error), error, _user_frames(error))),
        ) from error
    return time.perf_counter() - started


def _user_frames(error: BaseException) -> TracebackType | None:
    """The traceback from the user's frame on: ``first_call``'s own frame says nothing to them."""
    return None if error.__traceback__ is None else error.__traceback__.tb_next


def user_workload(
    spec: str,
    fn: Callable[[Any], Any],
    args: Sequence[Any],
    seconds: float,
    budget_seconds: float,
    workers: int,
) -> Workload:
    """The first arguments that take about ``budget_seconds`` one after another (at least one
    per worker of the largest pool, at most all of them)."""
    wanted = max(workers, math.ceil(budget_seconds / max(seconds, 1e-6)))
    used = list(args[: min(len(args), wanted)])
    of = f" (the first {len(used)} of {len(args)})" if len(used) < len(args) else ""
    return Workload(
        name=spec,
        description=f"{len(used)} calls{of}, ~{_duration(seconds)} each",
        fn=fn,
        args=used,
        seconds_per_task=seconds,
        ladder=worker_ladder(workers),
    )


def _duration(seconds: float) -> str:
    if seconds < 0.001:
        return f"{seconds * 1e6:.3g} µs"
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _short(arg: Any) -> str:
    text = repr(arg)
    return text if len(text) <= 60 else text[:57] + "..."
