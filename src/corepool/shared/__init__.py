"""Shared state: memory segments and what is built on them.

``corepool.shared.memory.Segment`` is the layer everything stands on: named shared memory that
pickles by name and is unlinked by the process tree's janitor once nobody holds it.
"""
