"""corepool.List behaves as a list: every operation checked against a plain list."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool


@pytest.fixture
def shared() -> Iterator[corepool.List]:
    items: corepool.List = corepool.List()
    yield items
    items.close()


OPERATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("append", lambda items: items.append(4)),
    ("extend", lambda items: items.extend([5, 6, 7])),
    ("insert front", lambda items: items.insert(0, "front")),
    ("insert middle", lambda items: items.insert(2, "middle")),
    ("insert negative", lambda items: items.insert(-1, "neg")),
    ("insert past end", lambda items: items.insert(100, "end")),
    ("pop", lambda items: items.pop()),
    ("pop front", lambda items: items.pop(0)),
    ("pop middle", lambda items: items.pop(2)),
    ("set", lambda items: items.__setitem__(1, "one")),
    ("set negative", lambda items: items.__setitem__(-1, "last")),
    ("set slice", lambda items: items.__setitem__(slice(1, 3), ["a", "b", "c"])),
    ("set extended slice", lambda items: items.__setitem__(slice(None, None, 2), [0] * 3)),
    ("del", lambda items: items.__delitem__(0)),
    ("del slice", lambda items: items.__delitem__(slice(1, None, 2))),
    ("remove", lambda items: items.remove(3)),
    ("reverse", lambda items: items.reverse()),
    ("sort", lambda items: items.sort()),
    ("sort key reverse", lambda items: items.sort(key=lambda value: -value, reverse=True)),
    ("iadd", lambda items: items.__iadd__([8, 9])),
    ("imul", lambda items: items.__imul__(2)),
    ("clear", lambda items: items.clear()),
]


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[op[0] for op in OPERATIONS])
def test_operation_matches_a_list(shared: corepool.List, name: str, operation: Callable) -> None:
    reference = [1, 2, 3, 2, 1]
    shared.extend(reference)
    result, expected = operation(shared), operation(reference)
    assert result is shared if name in ("iadd", "imul") else result == expected
    assert shared.copy() == reference
    assert list(shared) == reference and len(shared) == len(reference)


def test_reading_matches_a_list(shared: corepool.List) -> None:
    reference = [5, "x", (1, 2), None, 5]
    shared.extend(reference)
    assert shared == reference
    with corepool.List(reference) as other:
        assert shared == other
    assert [shared[index] for index in range(-5, 5)] == [reference[i] for i in range(-5, 5)]
    assert shared[1:4] == reference[1:4] and shared[::-1] == reference[::-1]
    assert shared.index(5) == 0 and shared.index(5, 1) == 4 and shared.count(5) == 2
    assert "x" in shared and "zz" not in shared
    assert list(reversed(shared)) == list(reversed(reference))
    assert shared + [1] == [*reference, 1]  # noqa: RUF005 - the operator is what is tested
    assert [1] + shared == [1, *reference]  # noqa: RUF005
    assert shared * 2 == reference * 2
    assert repr(shared) == f"corepool.List({reference!r})"


def test_errors_match_a_list(shared: corepool.List) -> None:
    with pytest.raises(IndexError):
        shared[0]
    with pytest.raises(IndexError):
        shared.pop()
    shared.append(1)
    with pytest.raises(IndexError):
        shared[1] = 2
    with pytest.raises(ValueError):
        shared.remove(99)
    with pytest.raises(ValueError):
        shared.index(99)
    with pytest.raises(TypeError, match="cannot be pickled"):
        shared.append(threading.Lock())
    assert shared.copy() == [1]


def test_update_with_and_increment(shared: corepool.List) -> None:
    shared.extend([1, [2]])
    assert shared.increment(0, 5) == 6
    assert shared.update_with(-1, lambda value: [*value, 3]) == [2, 3]
    assert shared.copy() == [6, [2, 3]]


def test_threads_appending_at_once(shared: corepool.List) -> None:
    barrier = threading.Barrier(8)

    def append_many(start: int) -> None:
        barrier.wait()
        for value in range(start, start + 100):
            shared.append(value)

    threads = [threading.Thread(target=append_many, args=(start * 100,)) for start in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(shared) == list(range(800))


def test_threads_incrementing_a_dict_lose_nothing() -> None:
    with corepool.Dict() as counts:
        barrier = threading.Barrier(8)

        def count() -> None:
            barrier.wait()
            for _ in range(200):
                counts.increment("n")

        threads = [threading.Thread(target=count) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert counts["n"] == 1600


def test_a_full_list_raises_capacity_error_and_stays_usable() -> None:
    with corepool.List(max_bytes=128 * 1024) as small:
        with pytest.raises(corepool.CapacityError, match=r"corepool\.List is full"):
            for _ in range(10_000):
                small.append(b"x" * 500)
        length = len(small)
        assert small.pop() == b"x" * 500 and len(small) == length - 1
        small.clear()
        small.append("fits again")
        assert small.copy() == ["fits again"]
