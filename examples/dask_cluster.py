"""The same Pool code on a Dask cluster (here a LocalCluster started for the example).

On a real cluster, start `dask scheduler` and `dask worker tcp://HOST:8786` and pass
address="tcp://HOST:8786" instead (docs/many-machines.md).  Needs: pip install 'corepool[dask]'.
"""

from __future__ import annotations

import importlib.util

import corepool


def word_length(word: str) -> int:
    return len(word)


def main() -> None:
    from corepool.cluster import dask_local_cluster

    words = ["one", "machine", "to", "many"] * 2500
    with (
        dask_local_cluster(n_workers=2) as cluster,
        corepool.Pool(backend="dask", address=cluster.scheduler_address) as pool,
    ):
        lengths = pool.map(word_length, words)
        print(f"{len(lengths)} lengths on a pool of {pool._processes} Dask threads: {sum(lengths)}")
        for worker in pool.statistics().workers:
            print(f"  {worker.name}: {worker.tasks_done} tasks")
        first = pool.imap(word_length, iter(words))
        print("first three from imap:", [next(first) for _ in range(3)])
        first.close()


if __name__ == "__main__":
    if importlib.util.find_spec("distributed") is None:
        print("this example needs Dask: pip install 'corepool[dask]'")
    else:
        main()
