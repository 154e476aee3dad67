"""Workers behind one small contract: one module per kind of worker.

``base.py`` is the contract (what the engine asks of a backend and what a backend must report);
``registry.py`` finds a backend by name and imports it lazily; ``processes.py`` and ``threads.py``
implement it.  The engine asks ``backend.capabilities`` what a backend can do, never its type, and
imports nothing from this package but ``base``.
"""
