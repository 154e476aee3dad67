"""Cross-process synchronisation: locks, semaphores, conditions, events, barriers, queues.

Every object here keeps its state in shared memory, pickles by name, and can be passed to pool
tasks, returned from them, or given to ``multiprocessing.Process`` under any start method.
The names are exported lazily from ``corepool`` itself (``corepool.Lock``...).
"""

__all__ = ["native_backend"]


def native_backend() -> str:
    """Where the mutex and futex calls come from: ``"c"``, the extension compiled at install
    (``corepool.sync._robust``), or ``"ctypes"``, the fallback without a compiler (same
    behaviour, ~10x slower calls).  ``COREPOOL_SYNC_NATIVE=ctypes|c|auto`` chooses at import."""
    from corepool.sync import _native

    return _native.BACKEND
