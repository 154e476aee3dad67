"""corepool.Manager(): multiprocessing.Manager's API, served by corepool's shared objects."""

from __future__ import annotations

import multiprocessing
import queue

import pytest

import corepool
from corepool.errors import SharedObjectClosedError

NAMES = ["Amy", "Lily", "Dirk", "Lily", "Denial", "Amy", "Amy", "Amy"]


def register(registry: object, name: str, lock: object) -> None:
    with lock:  # type: ignore[attr-defined]
        if name in registry:  # type: ignore[operator]
            registry[name] += 1  # type: ignore[index]
        else:
            registry[name] = 1  # type: ignore[index]


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_eight_processes_register_names_under_a_lock(method: str) -> None:
    context = multiprocessing.get_context(method)
    with corepool.Manager() as manager:
        registry = manager.dict()
        lock = manager.Lock()
        workers = [context.Process(target=register, args=(registry, name, lock)) for name in NAMES]
        for process in workers:
            process.start()
        for process in workers:
            process.join(30)
        assert all(process.exitcode == 0 for process in workers)
        assert dict(registry.items()) == {"Amy": 4, "Lily": 2, "Dirk": 1, "Denial": 1}


def bump(namespace: corepool.Namespace) -> int:
    namespace.count = namespace.count + 1  # type: ignore[attr-defined]
    return 1


def test_namespace_travels_to_pool_tasks() -> None:
    with corepool.Manager() as manager, corepool.Pool(1) as pool:
        namespace = manager.Namespace(count=0, label="x")
        assert sum(pool.map(bump, [namespace] * 5)) == 5
        assert namespace.count == 5
        assert namespace.label == "x"
        del namespace.label
        with pytest.raises(AttributeError):
            namespace.label  # noqa: B018


def test_every_factory_gives_a_working_object() -> None:
    with corepool.Manager() as manager:
        assert manager.list([1, 2])[1] == 2
        assert manager.dict(a=1)["a"] == 1
        assert manager.RLock().acquire(timeout=1)
        assert manager.Semaphore(2).acquire(timeout=1)
        assert manager.BoundedSemaphore().acquire(timeout=1)
        event = manager.Event()
        event.set()
        assert event.is_set()
        condition = manager.Condition()
        with condition:
            condition.notify_all()
        assert manager.Barrier(1).wait(timeout=1) == 0
        q = manager.Queue()
        q.put("x")
        assert q.get(timeout=1) == "x"
        with pytest.raises(queue.Empty):
            q.get(timeout=0.01)
        jq = manager.JoinableQueue()
        jq.put(1)
        jq.get(timeout=1)
        jq.task_done()
        jq.join()
        assert manager.Value("i", 7).value == 7
        assert list(manager.Array("d", [1.0, 2.0])) == [1.0, 2.0]
        with manager.Pool(1) as pool:
            assert pool.apply(abs, (-2,)) == 2


def test_shutdown_closes_what_the_manager_made() -> None:
    manager = corepool.Manager()
    manager.start()  # harmless: already started, as multiprocessing's would be after Manager()
    shared = manager.dict(a=1)
    manager.shutdown()
    with pytest.raises(SharedObjectClosedError):
        shared["a"]
