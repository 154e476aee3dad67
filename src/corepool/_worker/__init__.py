"""Code that runs inside a worker: a process (``process_main``) or a thread (``thread_main``)."""
