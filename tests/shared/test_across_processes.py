"""Dict and List used by several processes at once, under every start method."""

from __future__ import annotations

import multiprocessing.context

import pytest
import shared_children as children

import corepool

Context = multiprocessing.context.BaseContext


def _run(context: Context, target: object, *args: object) -> multiprocessing.process.BaseProcess:
    process = context.Process(target=target, args=args)  # type: ignore[attr-defined]
    process.start()
    return process


def _join_all(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        process.join(30)
        assert process.exitcode == 0, f"{process.name} exited with {process.exitcode}"
        process.close()


@pytest.mark.timeout(90)
def test_every_dict_operation_from_a_child(mp_context: Context) -> None:
    with corepool.Dict({"a": 1, "b": [2]}) as shared:
        results = mp_context.Queue()
        child = _run(mp_context, children.exercise_dict, shared, results)
        pid = child.pid
        seen = results.get(timeout=30)
        _join_all([child])
        assert seen["initial"] == {"a": 1, "b": [2]} and seen["len"] == 2 and seen["contains"]
        assert seen["popped"] == [2] and seen["setdefault"] == "new"
        assert seen["incremented"] == 5
        assert shared.copy() == {
            "child": pid,
            "u1": 1,
            "u2": 2,
            "c": "new",
            "counter": 5,
            "t1": "x",
            "t2": "xx",
        }
        assert seen["keys"] == list(shared) and seen["items"] == list(shared.items())
        results.close()
        results.join_thread()


@pytest.mark.timeout(90)
def test_every_list_operation_from_a_child(mp_context: Context) -> None:
    with corepool.List(["b", "a"]) as shared:
        results = mp_context.Queue()
        child = _run(mp_context, children.exercise_list, shared, results)
        seen = results.get(timeout=30)
        _join_all([child])
        assert seen["initial"] == ["b", "a"] and seen["len"] == 2 and seen["first"] == "b"
        assert seen["popped"] == 8
        assert (
            shared.copy()
            == seen["after"]
            == sorted(["head", "replaced", "a", "child", 107], key=str)
        )
        results.close()
        results.join_thread()


@pytest.mark.timeout(120)
def test_eight_processes_incrementing_lose_nothing(mp_context: Context) -> None:
    with corepool.Dict({"hits": 0}) as shared:
        processes = [_run(mp_context, children.add_numbers, shared, "hits", 300) for _ in range(8)]
        _join_all(processes)
        assert shared["hits"] == 8 * 300


def test_plus_equals_loses_an_update_when_interleaved(mp_context: Context) -> None:
    """The classic race, made certain: a write lands between another process's read and write."""
    with corepool.Dict({"n": 0}) as shared:
        read_done, other_wrote = mp_context.Event(), mp_context.Event()
        slow = _run(
            mp_context, children.read_modify_write_in_two_steps, shared, read_done, other_wrote
        )
        assert read_done.wait(30)
        shared["n"] += 1  # the other process read 0 before this
        other_wrote.set()
        _join_all([slow])
        assert shared["n"] == 1  # two increments, one lost


def test_update_with_makes_the_same_interleaving_wait(mp_context: Context) -> None:
    with corepool.Dict({"n": 0}) as shared:
        inside, other_started = mp_context.Event(), mp_context.Event()
        slow = _run(mp_context, children.increment_while_waiting, shared, inside, other_started)
        assert inside.wait(30)  # the child is inside its atomic update
        fast = _run(mp_context, children.increment_once, shared, other_started)
        _join_all([slow, fast])
        assert shared["n"] == 2


@pytest.mark.timeout(120)
def test_eight_processes_appending_to_a_list(mp_context: Context) -> None:
    with corepool.List() as shared:
        processes = [_run(mp_context, children.append_in_task, shared, index) for index in range(8)]
        _join_all(processes)
        assert sorted(shared) == list(range(8))
