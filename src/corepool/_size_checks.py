"""Checking the sizes a front door is given, with the standard library's own types and messages.

``Pool(processes=0)`` must fail as ``multiprocessing.Pool(processes=0)`` does, word for word,
so that a program (or a test) that matches the message keeps working:

    Pool                 processes            ValueError "Number of processes must be at least 1"
                         maxtasksperchild     ValueError "maxtasksperchild must be a positive int or
                                              None" (also for "12" or 0.5)
    *PoolExecutor        max_workers          ValueError "max_workers must be greater than 0"
    ProcessPoolExecutor  max_tasks_per_child  TypeError "max_tasks_per_child must be an integer",
                                              ValueError "max_tasks_per_child must be >= 1"

(the same on Python 3.11 and 3.13).  A size that is not an int at all, where the standard library
would fail later on a comparison, is a ``TypeError`` naming the argument.
"""

from __future__ import annotations

_TOO_SMALL = {
    "Number of processes": "Number of processes must be at least 1",
    "max_workers": "max_workers must be greater than 0",
    "maxtasksperchild": "maxtasksperchild must be a positive int or None",
    "max_tasks_per_child": "max_tasks_per_child must be >= 1",
}
_NOT_AN_INT = {
    # multiprocessing.Pool says ValueError for any maxtasksperchild that is not a positive int.
    "maxtasksperchild": ValueError(_TOO_SMALL["maxtasksperchild"]),
    "max_tasks_per_child": TypeError("max_tasks_per_child must be an integer"),
}


def check_size(size: int | None, default: int, what: str) -> int:
    """``size``, or ``default`` when it is None; raises as the standard library does."""
    if size is None:
        return default
    if not isinstance(size, int) or (isinstance(size, bool) and what not in _NOT_AN_INT):
        standard = _NOT_AN_INT.get(what)
        if standard is not None:
            raise type(standard)(*standard.args)
        raise TypeError(f"{what} must be an integer, not {type(size).__name__}")
    if size < 1:
        raise ValueError(_TOO_SMALL.get(what, f"{what} must be at least 1, got {size}"))
    return size
