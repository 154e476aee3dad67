"""Shared state across processes: memory segments and what is built on them.

``memory.Segment`` is the layer everything stands on: named shared memory that pickles by name
and is unlinked by the process tree's janitor once nobody holds it.  Locks, queues and values
(``corepool.sync``), ``SharedArray`` and the transport of large task arguments and results are
segments; a ``Dict``/``List`` is a directory the same janitor removes.  The public names are
exported from ``corepool`` itself; the modules here load lazily.
"""
