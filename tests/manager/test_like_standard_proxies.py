"""Manager objects where CPython's container tests look: the manager's Queue is joinable,
``dict(...)`` spellings, Namespace's repr; across processes where it matters."""

from __future__ import annotations

import multiprocessing
import multiprocessing.managers
from typing import Any

import pytest

import corepool


def work_through(tasks: Any, results: Any) -> None:
    while (item := tasks.get(timeout=30)) is not None:
        results.put(item * 2)
        tasks.task_done()
    tasks.task_done()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_manager_queue_has_task_done_and_join_across_processes(method: str) -> None:
    context = multiprocessing.get_context(method)
    with corepool.Manager() as manager:
        tasks, results = manager.Queue(), manager.Queue()
        worker = context.Process(target=work_through, args=(tasks, results))
        worker.start()
        for number in range(5):
            tasks.put(number)
        tasks.put(None)
        assert tasks.join(timeout=30) is True  # every item reported done
        worker.join(30)
        assert worker.exitcode == 0
        assert sorted(results.get(timeout=5) for _ in range(5)) == [0, 2, 4, 6, 8]
        with pytest.raises(ValueError):
            tasks.task_done()  # once too often, as queue.Queue


@pytest.mark.parametrize(
    "build",
    [
        lambda make: make(a=1, b=2),
        lambda make: make([("a", 1), ("b", 2)]),
        lambda make: make({"a": 1}, b=2),
    ],
    ids=["keywords", "pairs", "mapping and keywords"],
)
def test_manager_dict_takes_what_dict_takes(build: Any) -> None:
    with corepool.Manager() as manager:
        assert build(manager.dict).copy() == build(dict) == {"a": 1, "b": 2}


def test_namespace_repr_is_the_standard_one_without_private_names() -> None:
    with corepool.Manager() as manager:
        ours = manager.Namespace()
        ours.name, ours.job, ours._hidden = "Bob", "Builder", "hidden"
        standard = multiprocessing.managers.Namespace(name="Bob", job="Builder", _hidden="hidden")
        assert repr(ours) == repr(standard) == "Namespace(job='Builder', name='Bob')"
        assert ours._hidden == "hidden"  # hidden from repr only
        del ours.job
        assert str(ours) == "Namespace(name='Bob')"
