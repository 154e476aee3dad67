"""Errors of shared objects.

They belong with the rest of the taxonomy in ``corepool.errors``; they live here until the lead
merges them there (the shared-state branch may not edit that file).
"""

from __future__ import annotations

from corepool.errors import CorepoolError

__all__ = ["CapacityError", "SharedObjectClosedError"]


class SharedObjectClosedError(CorepoolError, ValueError):
    """An operation on a shared object that was closed, or whose owner removed it.

    A ``ValueError``, like an operation on a closed file.
    """


class CapacityError(CorepoolError):
    """A shared object is full: its ``max_bytes`` limit, or the memory file system, is used up.

    Nothing was written: the object is unchanged and still usable.
    """
