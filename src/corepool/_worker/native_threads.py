"""Capping native thread pools (OpenMP, BLAS) inside worker processes.

Without a cap, each of N workers starts one BLAS thread per core, and N x cores threads fight for
the cores.  Environment variables cover libraries loaded after the worker starts; threadpoolctl
covers those already loaded (inherited by fork, or imported with ``__main__``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
)


# Modules that load a native thread pool when imported; threadpoolctl (~20 ms to import and scan)
# is only needed when one of them is already loaded, since the environment covers the rest.
_NATIVE_POOL_MODULES = ("numpy", "scipy", "torch", "sklearn", "numexpr", "cv2", "mkl", "jax")


_controller: Any = None
"""threadpoolctl's view of the native pools loaded, made once where workers are forked from."""


def preload_for_forks() -> None:
    """In a process that forks workers (the zygote): find the loaded native pools once, if a
    module with one is loaded, rather than in every worker (importing threadpoolctl and scanning
    the loaded libraries: ~6 ms of each worker's start with NumPy loaded, ~1 ms left)."""
    global _controller
    if any(module in sys.modules for module in _NATIVE_POOL_MODULES):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            return
        _controller = ThreadpoolController()


def cap_native_threads(limit: int) -> None:
    for name in _VARIABLES:
        os.environ[name] = str(limit)
    if not any(module in sys.modules for module in _NATIVE_POOL_MODULES):
        return
    if _controller is not None:  # this worker was forked from where it was made: same libraries
        _controller.limit(limits=limit)
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return
    threadpool_limits(limits=limit)


def auto_limit(workers: int) -> int:
    """Threads per worker so that workers x threads fill the cores, at least one."""
    cores = available_cores()
    return max(1, cores // max(1, workers))


def available_cores() -> int:
    """Cores this process may run on (honours CPU affinity and, on 3.13+, -X cpu_count)."""
    counter = getattr(os, "process_cpu_count", None)
    if counter is not None:
        return int(counter() or 1)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
