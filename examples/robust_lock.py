"""What happens when a process dies while holding a corepool Lock (it never deadlocks).

A worker takes the lock and is killed with SIGKILL.  With multiprocessing.Lock every later
acquire() would wait forever; corepool's next acquire() raises HolderDiedError naming the dead
process, with the lock already repaired and released, and the one after that just works.

    python examples/robust_lock.py
"""

from __future__ import annotations

import multiprocessing
import os
import signal

import corepool


def hold_forever(lock: corepool.Lock, holding: multiprocessing.synchronize.Event) -> None:
    lock.acquire()
    holding.set()
    multiprocessing.Event().wait()  # never released: we will be killed


def main() -> None:
    lock = corepool.Lock()
    holding = multiprocessing.Event()
    holder = multiprocessing.Process(target=hold_forever, args=(lock, holding))
    holder.start()
    holding.wait()
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    try:
        lock.acquire(timeout=10)
    except corepool.HolderDiedError as error:
        print(f"told: {error}")
    with lock:
        print("the lock works again")


if __name__ == "__main__":
    main()
