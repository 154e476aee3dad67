"""Eight processes count into one shared number, under a lock, through a corepool Pool.

With multiprocessing, passing a Value or a Lock to a pool task fails ("should only be shared
between processes through inheritance"); with corepool they are ordinary arguments.

    python examples/shared_counter.py
"""

from __future__ import annotations

import corepool


def count(counter: corepool.Value, times: int) -> int:
    for _ in range(times):
        with counter.get_lock():  # `counter.value += 1` alone would lose updates
            counter.value += 1
    return times


def main() -> None:
    counter = corepool.Value("i", 0)  # an int in shared memory, guarded by a corepool RLock
    with corepool.Pool(8) as pool:
        done = pool.starmap(count, [(counter, 1_000)] * 8)
    print(f"8 tasks counted {sum(done)} times; the shared counter says {counter.value}")
    assert counter.value == 8_000


if __name__ == "__main__":
    main()
