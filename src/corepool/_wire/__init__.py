"""Everything that crosses the process boundary: messages, framing, serialization, remote errors.

Nothing in here knows about pools; both the parent (``_backends.processes``) and the worker
(``_worker.process_main``) speak through these modules only.
"""
