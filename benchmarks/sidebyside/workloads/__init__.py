"""One module per workload; each defines ``WORKLOAD`` (a ``model.Workload``)."""

NAMES = (
    "tiny_map",
    "cpu",
    "sleep",
    "start",
    "imap_memory",
    "start_first",
    "start_many",
    "large_array",
    "imap_chunksize",
    "executor_buffersize",
    "primes",
    "fib",
)

DIAGNOSTICS = ("cpu_plans",)
"""Workloads that explain a row of another rather than compare the peers: run only when named
(``-w``), never by default."""
