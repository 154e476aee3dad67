"""The pool's calls run in subinterpreters as in processes: map, imap, apply, callbacks."""

from __future__ import annotations

import itertools
import math
import threading
from pathlib import Path

import interp_tasks
import pytest

import corepool
from support import tasks
from support.processes import run_script


def test_map_starmap_and_apply(pool: corepool.Pool) -> None:
    assert pool.map(tasks.square, range(50)) == [x * x for x in range(50)]
    assert pool.starmap(tasks.add, [(1, 2), (3, 4)]) == [3, 7]
    assert pool.apply(tasks.echo, (1,), {"k": 2}) == ((1,), {"k": 2})


def test_imap_over_an_endless_generator(pool: corepool.Pool) -> None:
    results = pool.imap(tasks.square, itertools.count(), chunksize=3)
    assert list(itertools.islice(results, 100)) == [x * x for x in range(100)]
    unordered = pool.imap_unordered(tasks.square, itertools.count())
    firsts = list(itertools.islice(unordered, 20))
    assert len(set(firsts)) == 20
    assert all(math.isqrt(value) ** 2 == value for value in firsts)


def test_lambdas_and_closures_travel_by_value(pool: corepool.Pool) -> None:
    offset = 10
    assert pool.map(lambda x: x + offset, range(3)) == [10, 11, 12]


def test_callbacks_run_in_the_parent(pool: corepool.Pool) -> None:
    done = threading.Event()
    got: list[object] = []

    def on_result(value: object) -> None:
        got.append(value)
        done.set()

    pool.map_async(tasks.square, range(5), callback=on_result)
    assert done.wait(20)
    assert got == [[0, 1, 4, 9, 16]]
    failed = threading.Event()
    errors: list[BaseException] = []

    def on_error(error: BaseException) -> None:
        errors.append(error)
        failed.set()

    pool.apply_async(tasks.raise_value_error, (5,), error_callback=on_error)
    assert failed.wait(20)
    assert isinstance(errors[0], ValueError)


def test_workers_are_subinterpreters_of_this_process(pool: corepool.Pool) -> None:
    seen = pool.map(interp_tasks.who, range(8), chunksize=1)
    assert {backend for backend, _, _ in seen} == {"interpreters"}
    assert {name for _, name, _ in seen} <= {"corepool-worker-0", "corepool-worker-1"}
    assert interp_tasks.interpreter_id() not in {interp for _, _, interp in seen}
    assert pool.statistics().backend == "interpreters"


def test_statistics_count_the_tasks(pool: corepool.Pool) -> None:
    pool.map(tasks.square, range(40), chunksize=4)
    stats = pool.statistics()
    assert stats.tasks_done == 40
    assert stats.chunks_done == 10
    assert all(worker.pid is None for worker in stats.workers)  # no process of their own


def test_initializer_runs_in_each_worker(make_pool: type[corepool.Pool]) -> None:
    pool = make_pool(2, initializer=interp_tasks.remember, initargs=("greeting", "hello"))
    assert pool.map(interp_tasks.recall, ["greeting"] * 6, chunksize=1) == ["hello"] * 6


def test_a_failing_initializer_breaks_the_pool_with_its_error(
    make_pool: type[corepool.Pool],
) -> None:
    pool = make_pool(1, initializer=tasks.raise_value_error, initargs=(3,))
    with pytest.raises(corepool.InitializerError) as caught:
        pool.apply(tasks.square, (2,))
    assert isinstance(caught.value.__cause__, ValueError)


SCRIPT = """
import functools
import corepool

def add(a, b):
    return a + b

if __name__ == "__main__":
    with corepool.Pool(2, backend="interpreters") as pool:
        print(pool.starmap(add, [(1, 2)]))
        # A partial of a script function goes by reference first (its module is not __main__),
        # fails in both workers, and is sent again by value.
        print(pool.map(functools.partial(add, 10), range(8), chunksize=1))
"""


def test_functions_of_the_main_script_reach_the_workers(tmp_path: Path) -> None:
    done = run_script(tmp_path / "script.py", SCRIPT, timeout=50)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[3]", str([10 + x for x in range(8)])]
