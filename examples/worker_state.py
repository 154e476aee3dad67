"""Per-worker state set by an initializer (the process counterpart of threading.local)."""

import corepool


def load_table(size: int) -> None:
    # Expensive set-up, done once per worker instead of once per task.
    corepool.worker_state().squares = {n: n * n for n in range(size)}


def lookup(n: int) -> tuple[int, int]:
    worker = corepool.current_worker()
    assert worker is not None
    return worker.index, corepool.worker_state().squares[n]


def main() -> None:
    with corepool.Pool(2, initializer=load_table, initargs=(1000,)) as pool:
        for index, value in pool.map(lookup, [10, 20, 30, 40], chunksize=1):
            print(f"worker {index} answered {value}")
        for worker in pool.statistics().workers:
            print(worker.name, worker.pid, worker.state, worker.tasks_done)


if __name__ == "__main__":
    main()
