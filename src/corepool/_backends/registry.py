"""Backends by name, imported only when a pool asks for one.

Each entry names a module that has ``create(options: BackendOptions) -> Backend``.  Adding a
backend is one module plus one line here; an optional backend whose dependencies are missing
raises ``ImportError`` from its ``create`` with the command that installs them.
"""

from __future__ import annotations

import importlib

from corepool._backends.base import Backend, BackendOptions

_MODULES: dict[str, str] = {
    "processes": "corepool._backends.processes",
    "threads": "corepool._backends.threads",
    "auto": "corepool._backends.auto",
    "interpreters": "corepool._backends.interpreters",  # optional: corepool[interpreters]
    "dask": "corepool._backends.dask",  # optional: corepool[dask]
}


def backend_names() -> tuple[str, ...]:
    """The names ``backend=`` accepts."""
    return tuple(_MODULES)


def create_backend(name: str, options: BackendOptions) -> Backend:
    module_name = _MODULES.get(name) if isinstance(name, str) else None
    if module_name is None:
        choices = ", ".join(repr(known) for known in _MODULES)
        raise ValueError(f"backend must be one of {choices}, not {name!r}")
    module = importlib.import_module(module_name)
    backend: Backend = module.create(options)
    return backend
