"""Shared state across processes: dict, list, NumPy arrays (and, from ``memory``, raw segments).

The public names are exported from ``corepool`` itself; the modules here load lazily.
"""
