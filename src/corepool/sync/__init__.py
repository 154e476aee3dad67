"""Cross-process synchronisation: locks, semaphores, conditions, events, barriers, queues.

Every object here keeps its state in shared memory, pickles by name, and can be passed to pool
tasks, returned from them, or given to ``multiprocessing.Process`` under any start method.
The names are exported lazily from ``corepool`` itself (``corepool.Lock``...).
"""
