"""Large NumPy arrays to and from pool tasks, without copying them through pipes.

    python examples/numpy_shared.py

1. A plain array passed to many tasks is copied into shared memory once; every task maps it.
2. A large array returned by a task comes back through shared memory, not the pipe.
3. A SharedArray is one block of memory that every task reads and writes in place.
"""

from __future__ import annotations

import time
from itertools import pairwise

import numpy as np

import corepool


def column_means(data: np.ndarray, columns: slice) -> np.ndarray:
    return data[:, columns].mean(axis=0)


def noise(rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, 100))


def normalise_rows(shared: corepool.SharedArray, start: int, stop: int) -> None:
    block = shared[start:stop]  # a view of the shared memory
    block /= np.linalg.norm(block, axis=1, keepdims=True)  # written in place, seen by all


def main() -> None:
    data = np.random.default_rng(0).standard_normal((200_000, 100))  # 160 MB
    with corepool.Pool(4) as pool:
        started = time.perf_counter()
        parts = pool.starmap(column_means, [(data, slice(c, c + 10)) for c in range(0, 100, 10)])
        print(
            f"10 tasks on one {data.nbytes / 1e6:.0f} MB array: "
            f"{time.perf_counter() - started:.2f} s"
        )
        assert np.allclose(np.concatenate(parts), data.mean(axis=0))

        chunks = pool.starmap(noise, [(50_000, seed) for seed in range(4)])  # 40 MB each
        print(f"4 results of {chunks[0].nbytes / 1e6:.0f} MB came back")

        with corepool.SharedArray.from_array(data) as shared:
            bounds = range(0, len(data) + 1, 50_000)
            pool.starmap(normalise_rows, [(shared, lo, hi) for lo, hi in pairwise(bounds)])
            assert np.allclose(np.linalg.norm(shared.array, axis=1), 1.0)
            print("every row of the SharedArray normalised in place by 4 tasks")


if __name__ == "__main__":
    main()
