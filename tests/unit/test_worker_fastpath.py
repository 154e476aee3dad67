"""The worker loop's per-item bookkeeping: the C extension and its Python twins agree."""

from __future__ import annotations

import array
import shutil
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from corepool._wire import serialization
from corepool._worker import progress

try:
    from corepool._worker import _fastpath as fastpath
except ImportError:  # no compiler here: test_the_extension_is_built_where_it_can_be says if fine
    fastpath = None

needs_extension = pytest.mark.skipif(
    fastpath is None,
    reason="corepool._worker._fastpath was not built (no C compiler or Python headers at install "
    "time): the Python twins run instead, and test_the_extension_is_built_where_it_can_be "
    "fails if a compiler was there",
)


def _row() -> memoryview:
    return memoryview(array.array("q", [0] * progress.ROW_SIZE)).cast("B").cast("q")


def _c_tracked(items: list[int], start: int, row: memoryview) -> Iterator[object]:
    return progress.tracked(items, start, row, False)


def _python_tracked(items: list[int], start: int, row: memoryview) -> Iterator[object]:
    remaining = items[start:]
    return progress.tracked_in_python(remaining, start, row)


@needs_extension
@pytest.mark.parametrize("make", [_c_tracked, _python_tracked], ids=["c", "python"])
def test_each_item_is_marked_on_the_row_before_it_is_used(
    make: Callable[[list[int], int, memoryview], Iterator[object]],
) -> None:
    row = _row()
    seen = []
    for item in make(list(range(100, 110)), 3, row):
        seen.append((item, row[progress.ITEM]))
    assert seen == [(100 + index, index) for index in range(3, 10)]
    assert row[progress.CHUNK] == row[progress.STARTED] == 0  # no other field is touched


@needs_extension
def test_a_process_row_uses_the_extension() -> None:
    assert type(progress.tracked([1], 0, _row(), False)).__name__ == "tracked"


@needs_extension
def test_the_tracker_refuses_a_slot_outside_the_row() -> None:
    with pytest.raises(IndexError, match="slot 4"):
        fastpath.tracked([1], _row(), progress.ROW_SIZE, 0)
    with pytest.raises(BufferError):
        fastpath.tracked([1], bytes(32), 0, 0)  # read-only: not a board


@needs_extension
def test_an_error_in_the_items_iterator_propagates() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("items broke")

    iterator = fastpath.tracked(broken(), _row(), progress.ITEM, 0)
    assert next(iterator) == 1
    with pytest.raises(ValueError, match="items broke"):
        next(iterator)


class _Int(int):
    pass


@needs_extension
@pytest.mark.parametrize(
    "values",
    [
        [],
        [1, 2.5, 3j, "s", b"b", True, None],
        [1, _Int(2)],  # a subclass may not unpickle in the parent
        [1, (2,)],
        [object()],
    ],
)
def test_atoms_are_exactly_the_python_twins_atoms(values: list[Any]) -> None:
    assert fastpath.all_atoms(values) == serialization._all_atoms_in_python(values)


def test_the_extension_is_built_where_it_can_be() -> None:
    # ``optional = true`` turns a failed compilation into a warning nobody reads; here it fails.
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not headers.exists() or shutil.which(compiler) is None:
        pytest.skip("no C compiler or no Python headers: the Python twins are expected")
    assert fastpath is not None, "a compiler is here but corepool._worker._fastpath was not built"
    assert serialization._all_atoms is fastpath.all_atoms
    assert serialization._machine_numbers is fastpath.machine_numbers
