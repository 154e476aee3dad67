"""The process class of a spawned worker: it ends without the interpreter's teardown.

A forked or forkserver child ends with ``os._exit`` once its target returned and
``multiprocessing`` has joined its threads, run its finalizers and flushed the standard streams
(``BaseProcess._bootstrap``).  A spawned child instead returns into ``sys.exit``, and the
interpreter then tears every module down: ~8 ms of a spawned pool's shutdown (benchmarks/start)
for nothing a worker needs.  This class ends a spawned worker as the other start methods end
theirs, after also running the ``atexit`` handlers, which a spawned process has always run.
"""

from __future__ import annotations

import atexit
import os
import sys
from multiprocessing.context import SpawnProcess


class SpawnedWorker(SpawnProcess):
    def _bootstrap(self, parent_sentinel: int | None = None) -> int:
        code: int = super()._bootstrap(parent_sentinel)  # type: ignore[misc]
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
