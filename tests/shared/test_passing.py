"""Dict and List travel into pool tasks, back from them, and into multiprocessing.Process."""

from __future__ import annotations

import multiprocessing.context
import pickle

import pytest
import shared_children as children

import corepool

BACKENDS = ["processes", "threads"]


@pytest.fixture(params=BACKENDS)
def pool(request: pytest.FixtureRequest) -> corepool.Pool:
    with corepool.Pool(2, backend=request.param) as running:
        yield running


def test_dict_passed_to_tasks_is_the_same_dict(pool: corepool.Pool) -> None:
    with corepool.Dict() as shared:
        counts = pool.starmap(children.increment_in_task, [(shared, "n")] * 40)
        assert sorted(counts) == list(range(1, 41))
        assert shared["n"] == 40


def test_list_passed_to_tasks_is_the_same_list(pool: corepool.Pool) -> None:
    with corepool.List() as shared:
        pool.starmap(children.append_in_task, [(shared, index) for index in range(20)])
        assert sorted(shared) == list(range(20))


def test_returned_from_a_task_it_is_the_very_same_object(pool: corepool.Pool) -> None:
    with corepool.Dict({"a": 1}) as shared, corepool.List([1]) as items:
        assert pool.apply(children.identity, (shared,)) is shared
        assert pool.apply(children.identity, (items,)) is items
        future_style = pool.apply_async(children.identity, (shared,))
        assert future_style.get(30) is shared


def test_executor_submit_takes_a_dict() -> None:
    with corepool.ProcessPoolExecutor(2) as executor, corepool.Dict() as shared:
        futures = [executor.submit(children.increment_in_task, shared, "k") for _ in range(10)]
        assert sorted(future.result(30) for future in futures) == list(range(1, 11))


def test_a_dict_made_and_closed_inside_a_task_leaves_nothing(pool: corepool.Pool) -> None:
    name = pool.apply(children.make_dict_in_task)
    assert name  # the task owned it and removed it on close


def test_passed_to_multiprocessing_process(mp_context: multiprocessing.context.BaseContext) -> None:
    with corepool.Dict() as shared:
        processes = [
            mp_context.Process(target=children.add_numbers, args=(shared, "p", 50))  # type: ignore[attr-defined]
            for _ in range(3)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
            assert process.exitcode == 0
            process.close()
        assert shared["p"] == 150


def test_stored_inside_another_dict(mp_context: multiprocessing.context.BaseContext) -> None:
    with corepool.Dict() as outer, corepool.Dict() as inner:
        outer["inner"] = inner
        assert outer["inner"] is inner
        process = mp_context.Process(  # type: ignore[attr-defined]
            target=children.add_numbers, args=(outer["inner"], "n", 5)
        )
        process.start()
        process.join(30)
        assert process.exitcode == 0
        process.close()
        assert inner["n"] == 5


def test_attaching_after_the_owner_closed_it_fails_clearly() -> None:
    shared = corepool.Dict()
    blob = pickle.dumps(shared)
    shared.close()
    with pytest.raises(corepool.SharedObjectClosedError, match="no longer exists"):
        pickle.loads(blob)


def test_pool_under_each_start_method(mp_context: multiprocessing.context.BaseContext) -> None:
    with corepool.Dict() as shared, corepool.Pool(2, context=mp_context) as pool:
        assert pool.starmap(children.increment_in_task, [(shared, "s")] * 6) != []
        assert shared["s"] == 6
