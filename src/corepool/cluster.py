"""Starting a Dask cluster on this machine, to try ``backend="dask"`` out.

corepool never starts a cluster by itself; this helper does, only when called::

    with dask_local_cluster(n_workers=2) as cluster:
        with corepool.Pool(backend="dask", address=cluster.scheduler_address) as pool:
            ...

For real work, start the scheduler and the workers as programs (``dask scheduler``,
``dask worker``): see docs/many-machines.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from corepool._backends.dask_connect import import_distributed

if TYPE_CHECKING:
    import distributed

__all__ = ["dask_local_cluster"]


def dask_local_cluster(
    n_workers: int = 2, threads_per_worker: int = 1, **kwargs: Any
) -> distributed.LocalCluster:
    """A ``distributed.LocalCluster`` of worker processes on 127.0.0.1, its dashboard on a free
    port (``cluster.dashboard_link``): Dask's default, 8787, may be taken by another cluster, and
    Dask then warns.

    ``kwargs`` go to ``LocalCluster`` (``memory_limit=``, ``dashboard_address=":8787"``...).
    Close it (``with``, or ``cluster.close()``) when done: its workers are processes.
    """
    module = import_distributed()
    kwargs.setdefault("host", "127.0.0.1")
    kwargs.setdefault("dashboard_address", "127.0.0.1:0")
    kwargs.setdefault("processes", True)
    cluster: distributed.LocalCluster = module.LocalCluster(
        n_workers=n_workers, threads_per_worker=threads_per_worker, **kwargs
    )
    return cluster
