"""One Dask cluster on 127.0.0.1 for the whole session, and pools on it.

``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``, dashboard on a free port: two
Dask worker processes, each behind a nanny that restarts it when it dies.  It starts in ~1.5 s,
so every test of this directory shares it (but those that kill workers again and again: their
own, ``killable_pool``); ``client`` waits, before each test, until both workers
are back (a fault test kills some).

``distributed.scheduler.allowed-failures`` is 1 (Dask's default is 3): a task whose worker dies
is rescheduled once, and fails with ``KilledWorker`` when it kills a second one.  The fault tests
then cost two worker restarts (~1-2 s each on 2 cores) instead of four.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dask_tasks as tasks
import psutil
import pytest

import corepool

try:
    import distributed

    import dask
except ImportError:  # every test module skips, saying so (pytest.importorskip)
    pass

WORKERS = 2


HERE = Path(__file__).resolve().parent


# A nanny writes Dask's worker environment (OMP_NUM_THREADS=1, ...) into this process's
# os.environ before it spawns a worker: put back what the rest of the suite expects.
_ENVIRONMENT = dict(os.environ)


def _restore_environment() -> None:
    written = set(dask.config.get("distributed.nanny.pre-spawn-environ", {})) | {"PYTHONPATH"}
    for name in written:
        if name in _ENVIRONMENT:
            os.environ[name] = _ENVIRONMENT[name]
        else:
            os.environ.pop(name, None)


@contextlib.contextmanager
def _local_cluster() -> Iterator[Any]:
    # The workers import the tasks of ``dask_tasks.py`` by name, as a real cluster's workers
    # import the user's installed modules: its folder goes on their path, at every (re)spawn.
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")]))
    settings = {
        "distributed.scheduler.allowed-failures": 1,
        "distributed.nanny.pre-spawn-environ.PYTHONPATH": path,
    }
    with (
        dask.config.set(settings),
        distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # 8787 may be taken: Dask would warn (an error here)
        ) as started,
    ):
        _restore_environment()
        yield started
    _restore_environment()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    with _local_cluster() as started:
        yield started


@pytest.fixture
def killable_pool() -> Iterator[corepool.Pool]:
    """A pool on a cluster of its own, for a test that kills Dask workers.

    On a loaded machine a nanny can fail to bring its worker back at all (Dask then leaves the
    cluster a worker short for good): the session's cluster must not pay for it.  One slot, and
    no chunk sent ahead (``worker_queue_seconds=0``): Dask counts a worker's death against every
    task on that worker, so a task running beside the one that kills workers could be given up on
    too (docs/many-machines.md, "Lost Dask workers").
    """
    quiet = corepool.Settings(worker_queue_seconds=0)
    with (
        _local_cluster() as own,
        distributed.Client(own, set_as_default=False) as own_client,
        corepool.Pool(1, backend="dask", client=own_client, settings=quiet) as pool,
    ):
        yield pool
        pool.terminate()


@pytest.fixture(autouse=True)
def environment_left_alone() -> Iterator[None]:
    yield
    _restore_environment()


@pytest.fixture(scope="session")
def session_client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as made:
        yield made


@pytest.fixture
def client(session_client: Any) -> Any:
    session_client.wait_for_workers(WORKERS, timeout=30)
    return session_client


@pytest.fixture
def make_pool(client: Any) -> Iterator[Callable[..., corepool.Pool]]:
    pools: list[corepool.Pool] = []

    def make(processes: int | None = None, **kwargs: Any) -> corepool.Pool:
        kwargs.setdefault("client", client)
        pool = corepool.Pool(processes, backend="dask", **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.terminate()
        pool.join()


@pytest.fixture
def pool(make_pool: Callable[..., corepool.Pool]) -> corepool.Pool:
    return make_pool()


@pytest.fixture
def make_executor(client: Any) -> Iterator[Callable[..., corepool.ProcessPoolExecutor]]:
    executors: list[corepool.ProcessPoolExecutor] = []

    def make(max_workers: int | None = None, **kwargs: Any) -> corepool.ProcessPoolExecutor:
        kwargs.setdefault("client", client)
        executor = corepool.ProcessPoolExecutor(max_workers, backend="dask", **kwargs)
        executors.append(executor)
        return executor

    yield make
    for executor in executors:
        executor.shutdown(wait=True, cancel_futures=True)


def _descendants() -> set[int]:
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "forkserver" not in cmdline and "resource_tracker" not in cmdline:
            found.add(child.pid)
    return found


@pytest.fixture(autouse=True)
def no_orphan_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    """As the suite's check, except for the session cluster's workers (a nanny restarts a
    worker a fault test killed: a new process, which the cluster owns)."""
    before = _descendants()
    yield
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        left = _descendants() - before - _cluster_processes(request)
        if not left:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes left running after the test: {sorted(left)}")


def _cluster_processes(request: pytest.FixtureRequest) -> set[int]:
    if "session_client" not in request.fixturenames:
        return set()
    client = request.getfixturevalue("session_client")
    try:
        client.wait_for_workers(WORKERS, timeout=30)
        pids = set(tasks.worker_pids(client).values())
    except Exception:  # noqa: BLE001 - no cluster: nothing of it to leave out
        return set()
    found = set(pids)
    for pid in pids:
        try:
            found.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            pass
    return found
