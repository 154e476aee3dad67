"""Worker processes take the most urgent job first from a shared PriorityQueue, and meet at a
Barrier before reporting.

    python examples/priority_work.py
"""

from __future__ import annotations

import corepool


def work(jobs: corepool.PriorityQueue, done: corepool.Queue, ready: corepool.Barrier) -> int:
    taken = 0
    while True:
        urgency, name = jobs.get()
        if name is None:
            break
        done.put((urgency, name))
        taken += 1
    ready.wait(timeout=30)  # every worker has stopped taking jobs
    return taken


def main() -> None:
    jobs, done = corepool.PriorityQueue(), corepool.Queue()
    for number in range(200):
        jobs.put((number % 5, f"job-{number}"))  # urgency 0 is the most urgent
    workers = 4
    for _ in range(workers):
        jobs.put((99, None))  # sorts after every job: one stop sign per worker
    ready = corepool.Barrier(workers)
    with corepool.Pool(workers) as pool:
        # chunksize=1: one task per worker, all at the barrier together
        counts = pool.starmap(work, [(jobs, done, ready)] * workers, chunksize=1)
    urgencies = [done.get()[0] for _ in range(200)]
    print(f"jobs per worker: {counts}; first urgencies taken: {urgencies[:8]}")
    assert sum(counts) == 200 and urgencies[0] == 0


if __name__ == "__main__":
    main()
