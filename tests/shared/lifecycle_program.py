"""A program that uses every kind of shared object, run by test_program_end.py.

    python lifecycle_program.py <start method> exit|wait

It prints its janitor's address and its workers' pids, uses Dict, List, SharedArray, a lock, a
queue and large NumPy arguments and results with a pool (a worker is killed holding an argument,
another pool is terminated mid-job), then exits without closing anything, or prints READY and
waits to be killed with everything still open.  Nothing is left in flight (a pickle never
unpickled keeps the janitor up to 60 s after the tree has ended, on purpose: see _janitor.py).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys

import numpy as np
import shared_children as children

import corepool
from corepool.shared.array_transport import LARGE_BUFFER_BYTES


def main(method: str, ending: str) -> None:
    context = multiprocessing.get_context(method)
    print("JANITOR", os.environ["COREPOOL_JANITOR"], flush=True)
    big = np.ones(LARGE_BUFFER_BYTES // 8 * 2)
    lock, queue = corepool.Lock(), corepool.Queue()
    kept = [lock, queue]
    with corepool.Pool(2, context=context, maxtasksperchild=2) as pool:
        print("WORKERS", *[w.pid for w in pool.statistics().workers], flush=True)
        for kind in ("SharedArray", "Dict", "List"):
            shared = pool.apply(children.make_shared, (kind,))  # returned by a worker
            assert children.marker_of(shared) == 7
            queue.put(shared)
            kept.append(queue.get(timeout=30))  # the very same object, back from the queue
        assert pool.apply(children.identity, (big,)).sum() == big.sum()  # argument and result
        try:
            pool.apply(children.die_holding, (big,))
        except corepool.WorkerLostError:
            pass
        kept.append(corepool.Dict({"made": "here"}))
    busy = corepool.Pool(2, context=context)
    pending = [busy.apply_async(children.slow_copy, (big,)) for _ in range(6)]
    pending[0].wait(60)
    busy.terminate()
    busy.join()
    if ending == "wait":
        with corepool.Pool(2, context=context) as waiting_pool:
            print("WORKERS", *[w.pid for w in waiting_pool.statistics().workers], flush=True)
            waiting_pool.apply(children.identity, (kept[2],))
            print("READY", flush=True)
            signal.pause()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
