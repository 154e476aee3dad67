"""Reaching a Dask cluster: the client to use, and the errors that say how to get one.

corepool never starts a cluster by itself: a pool on ``backend="dask"`` connects to the
scheduler at ``address`` (and then owns the client it made) or borrows the ``client`` it is given
(and never closes it).  ``corepool.cluster.dask_local_cluster`` starts one on this machine, for
trying it out, only when called.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import distributed

INSTALL_HINT = "pip install 'corepool[dask]'"

NO_CLUSTER = (
    "backend='dask' runs on a Dask cluster that you start: pass address='tcp://HOST:8786' (start "
    "one with `dask scheduler` and, on each machine, `dask worker tcp://HOST:8786`) or "
    "client=<a distributed.Client>; to try it on this machine, "
    "corepool.cluster.dask_local_cluster() starts a LocalCluster whose .scheduler_address you pass"
)

# How long a pool waits for the first Dask worker when it must size itself from the cluster:
# `dask worker` processes take ~1-2 s to register with a scheduler just started.
WAIT_FOR_WORKERS_SECONDS = 30.0

# How long connecting to the scheduler may take (Dask's own default is 30 s).
CONNECT_TIMEOUT_SECONDS = 30.0


def import_distributed() -> ModuleType:
    try:
        return importlib.import_module("distributed")
    except ImportError as error:
        raise ImportError(
            f"backend='dask' needs Dask's distributed package: {INSTALL_HINT}"
        ) from error


def connect(address: str | None, client: Any) -> tuple[distributed.Client, bool]:
    """The client a pool uses, and whether the pool owns it (closes it when it ends)."""
    if address is None and client is None:
        raise ValueError(NO_CLUSTER)
    if address is not None and client is not None:
        raise ValueError("pass address= or client=, not both")
    module = import_distributed()
    if client is not None:
        if not isinstance(client, module.Client):
            raise TypeError(f"client must be a distributed.Client, not {type(client).__name__}")
        return client, False
    if not isinstance(address, str):
        raise TypeError(f"address must be a str such as 'tcp://host:8786', not {address!r}")
    made: distributed.Client = module.Client(
        address, set_as_default=False, timeout=CONNECT_TIMEOUT_SECONDS
    )
    return made, True


def total_threads(client: distributed.Client) -> int:
    """The cluster's threads, waiting for a first worker if none has registered yet."""
    threads = sum(client.nthreads().values())
    if threads:
        return int(threads)
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_SECONDS)
    except TimeoutError:
        raise RuntimeError(
            f"the Dask scheduler at {client.scheduler.address} has no workers after "
            f"{WAIT_FOR_WORKERS_SECONDS:.0f} s: start some with `dask worker "
            f"{client.scheduler.address}`, or give the pool a size"
        ) from None
    return int(sum(client.nthreads().values()))
