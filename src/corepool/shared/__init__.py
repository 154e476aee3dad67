"""Shared state across processes: memory segments and what is built on them.

``memory.Segment`` is the layer the locks, queues and values stand on: named shared memory that
pickles by name and is unlinked by the process tree's janitor once nobody holds it.  ``Dict``,
``List`` and ``SharedArray`` live here too.  The public names are exported from ``corepool``
itself; the modules here load lazily.
"""
