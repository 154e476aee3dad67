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
_openblas_own: int | None = None
"""OpenBLAS's thread count before any cap, where ``_controller`` was made (None: not loaded)."""
_openblas_cap: int | None = None
"""The cap OpenBLAS runs under in this process, set by ``cap_before_fork`` (None: its own)."""
_NOT_OPENBLAS = ["mkl", "blis", "flexiblas", "openmp"]


def preload_for_forks() -> None:
    """In a process that forks workers (the zygote): find the loaded native pools once, if a
    module with one is loaded, rather than in every worker (importing threadpoolctl and scanning
    the loaded libraries: ~6 ms of each worker's start with NumPy loaded, ~1 ms left).

    Never raises: the zygote must serve whatever a library does; on failure it is reported and
    each worker finds and caps the pools itself."""
    global _controller, _openblas_own
    if not _native_pool_loaded():
        return
    try:
        controller = _new_controller()
        if controller is None:
            return
        counts = [lib.num_threads for lib in _openblas_of(controller).lib_controllers]
    except Exception as error:  # noqa: BLE001 - see above
        _report("could not look up native thread pools", error)
        return
    _controller, _openblas_own = controller, max(counts) if counts else None


def cap_before_fork(limit: int | None) -> None:
    """In the zygote, before it forks a worker whose pool caps native threads at ``limit``.

    OpenBLAS is capped here rather than in the worker: its threads stop for a fork and capping
    restarts them (one idle thread per worker, spinning ~0.1 s before it sleeps: 16 workers on
    2 cores ran 128 short tasks ~25 % slower).  Here that happens once per change of cap, and
    the fork that follows stops them again; the worker inherits the cap.  Never raises: on
    failure the worker caps OpenBLAS itself (``_openblas_cap`` is left as it was).
    """
    global _openblas_cap
    if _openblas_own is None or limit == _openblas_cap:
        return
    try:
        _openblas_of(_controller).limit(limits=_openblas_own if limit is None else limit)
    except Exception as error:  # noqa: BLE001 - see above
        _report("could not cap native threads", error)
        return
    _openblas_cap = limit


def cap_native_threads(limit: int) -> None:
    for name in _VARIABLES:
        os.environ[name] = str(limit)
    if not _native_pool_loaded():
        return
    # Found in the zygote this worker was forked from (same libraries), or found now.
    pools = _controller if _controller is not None else _new_controller()
    if pools is None:
        return
    if _openblas_own is not None and _openblas_cap == limit:  # the zygote capped it already
        pools = pools.select(internal_api=_NOT_OPENBLAS)
    pools.limit(limits=limit)


def _native_pool_loaded() -> bool:
    return any(module in sys.modules for module in _NATIVE_POOL_MODULES)


def _new_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    return ThreadpoolController()


def _openblas_of(controller: Any) -> Any:
    return controller.select(internal_api="openblas")


def _report(what: str, error: BaseException) -> None:
    print(f"corepool zygote: {what}: {error!r}", file=sys.stderr)


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
