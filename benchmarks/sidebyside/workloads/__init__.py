"""One module per workload; each defines ``WORKLOAD`` (a ``model.Workload``)."""

NAMES = ("tiny_map", "cpu", "sleep", "start", "imap_memory", "primes", "fib")
