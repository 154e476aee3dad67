"""Dict and List where a program sees the difference from a dict, a list, or the standard
manager's proxies: constructors, and iteration while the container changes (CPython's
``_TestContainers.test_dict_iter`` / ``test_list_iter``), also across processes."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

import corepool


def delete_key(shared: Any, key: object) -> None:
    del shared[key]


def replace_first(shared: Any, value: object) -> None:
    shared[0] = value


def run_in_child(context: Any, target: Any, *args: Any) -> None:
    child = context.Process(target=target, args=args)
    child.start()
    child.join(30)
    assert child.exitcode == 0


ARGUMENTS = {
    "keywords": lambda: ((), {"a": 1, "b": 2}),
    "pairs": lambda: (([("a", 1), ("b", 2)],), {}),
    "mapping and keywords": lambda: (({"a": 1},), {"b": 2}),
    "iterator, a keyword replacing": lambda: ((iter([("b", 2), ("a", 1)]),), {"a": 3}),
    "nothing": lambda: ((), {}),
}


@pytest.mark.parametrize("case", ARGUMENTS)
def test_dict_is_built_like_a_dict(case: str) -> None:
    args, kwargs = ARGUMENTS[case]()
    shared: corepool.Dict[str, int] = corepool.Dict(*args, **kwargs)
    args, kwargs = ARGUMENTS[case]()  # afresh: an iterator was consumed
    try:
        assert list(shared.items()) == list(dict(*args, **kwargs).items())
    finally:
        shared.close()


def test_max_bytes_stays_an_option_not_a_key() -> None:
    shared = corepool.Dict(a=1, max_bytes=1 << 20)
    try:
        assert shared.copy() == {"a": 1}
    finally:
        shared.close()


def test_iterating_a_dict_whose_size_changes_raises_like_a_dict() -> None:
    shared = corepool.Dict((number, chr(number)) for number in range(65, 70))
    plain = dict(shared.copy())
    try:
        for container in (plain, shared):
            iterator = iter(container)
            assert list(iterator) == list(range(65, 70))
            assert list(iterator) == []  # exhausted
            iterator = iter(container)
            next(iterator)
            container[99] = "c"
            with pytest.raises(RuntimeError, match="changed size during iteration"):
                next(iterator)
            with pytest.raises(RuntimeError):  # and it keeps failing, as a dict's does
                next(iterator)
            del container[99]
    finally:
        shared.close()


@pytest.mark.parametrize("view", ["keys", "values", "items"])
def test_every_view_of_a_dict_raises_when_the_size_changes(view: str) -> None:
    shared = corepool.Dict(a=1, b=2)
    try:
        iterator = iter(getattr(shared, view)())
        shared.clear()
        with pytest.raises(RuntimeError):
            next(iterator)
    finally:
        shared.close()


def test_changing_values_while_iterating_is_allowed_like_a_dict() -> None:
    shared = corepool.Dict(a=1, b=2, c=3)
    try:
        for key in shared:
            shared[key] += 10
        assert shared.copy() == {"a": 11, "b": 12, "c": 13}
    finally:
        shared.close()


def test_a_key_deleted_by_another_process_fails_the_iteration(
    mp_context: multiprocessing.context.BaseContext,
) -> None:
    shared = corepool.Dict(a=1, b=2, c=3)
    try:
        iterator = iter(shared)
        assert next(iterator) == "a"
        run_in_child(mp_context, delete_key, shared, "c")
        with pytest.raises(RuntimeError, match="dictionary changed size"):
            next(iterator)
    finally:
        shared.close()


def test_list_iteration_sees_a_change_made_by_another_process(
    mp_context: multiprocessing.context.BaseContext,
) -> None:
    shared = corepool.List(range(10))
    try:
        iterator = iter(shared)
        run_in_child(mp_context, replace_first, shared, 100)
        assert next(iterator) == 100
        assert list(iterator) == list(range(1, 10))
        assert list(iterator) == []  # exhausted
    finally:
        shared.close()


def test_list_iteration_ends_at_the_length_it_finds() -> None:
    shared = corepool.List([1, 2, 3])
    try:
        seen = []
        for value in shared:
            seen.append(value)
            if value == 1:
                shared.append(4)
        assert seen == [1, 2, 3, 4]  # as a list: items appended meanwhile are visited
    finally:
        shared.close()
