"""``acquire``'s two spellings: multiprocessing's ``block=`` and threading's ``blocking=``.

Positional arguments and ``block=`` keep ``multiprocessing``'s rules (a timeout with
``block=False`` is ignored, a negative timeout means 0; CPython's own tests call
``acquire(False, 1.0)`` and expect ``False`` at once).  Naming ``blocking=`` asks for
``threading``'s rules, so code written for the thread module ports unchanged:

* a timeout with ``blocking=False`` is a ``ValueError``;
* locks (``Lock``, ``RLock``, ``Condition``): ``timeout=-1`` waits forever, another negative
  timeout is a ``ValueError``; semaphores: ``None`` waits forever, a negative timeout means 0.

The C cores (``_robust_core.c``, ``threading_arguments``) apply the same rules.
"""

from __future__ import annotations

__all__ = ["acquire_arguments"]


def acquire_arguments(
    block: bool, timeout: float | None, blocking: bool | None, *, lock_timeouts: bool
) -> tuple[bool, float | None]:
    """(block, timeout) by ``multiprocessing``'s rules, from either spelling (``blocking=None``:
    not given, ``block`` decides)."""
    if blocking is None:
        return block, timeout
    if block is not True:
        raise TypeError("acquire() got both 'block' and 'blocking' (the same argument)")
    if timeout is None:
        return blocking, None
    seconds = float(timeout)
    forever = lock_timeouts and seconds == -1.0
    if not blocking and not forever:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if lock_timeouts and seconds < 0 and not forever:
        raise ValueError("timeout value must be a non-negative number")
    return bool(blocking), None if forever else timeout
