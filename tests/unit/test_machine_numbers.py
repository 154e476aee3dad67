"""Long lists of only ints or only floats travel as machine numbers (``serialization.dumps_list``).

What comes back must be the very list that left: the same values, each of its exact type (a bool
stays a bool, an int subclass stays itself, -0.0 and NaN keep their bits, an int beyond 64 bits
is not truncated), whether the C extension packed it or the Python twin kept the pickle.
"""

from __future__ import annotations

import math
import pickle
import struct
from array import array
from typing import Any

import pytest

from corepool._wire import serialization
from corepool._wire.messages import PackedItems

try:
    from corepool._worker import _fastpath as fastpath
except ImportError:  # test_worker_fastpath says whether that is expected here
    fastpath = None

NOT_BUILT = (
    "corepool._worker._fastpath was not built (no C compiler or Python headers at install): "
    "lists keep their pickle, which the 'python' cases check, and test_worker_fastpath's "
    "build test fails if a compiler was there"
)
needs_extension = pytest.mark.skipif(fastpath is None, reason=NOT_BUILT)

LONG = serialization.NUMBERS_AT_LEAST


class _Int(int):
    pass


class _Float(float):
    pass


def _bits(values: list[Any]) -> list[tuple[type, Any]]:
    """Each value with its exact type, floats by their bits (NaN == NaN, -0.0 != 0.0)."""
    return [
        (type(value), struct.pack("<d", value) if type(value) is float else value)
        for value in values
    ]


SPECIAL_FLOATS = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308]

LISTS = {
    "ints": list(range(-LONG, LONG)),
    "int64 edges": [2**63 - 1, -(2**63)] * LONG,
    "floats": [index / 7 for index in range(LONG)] + SPECIAL_FLOATS,
    "an int beyond 64 bits": [1] * LONG + [2**63],
    "a bool among ints": [1] * LONG + [True],
    "only bools": [True, False] * LONG,
    "an int subclass": [1] * LONG + [_Int(2)],
    "a float subclass": [1.0] * LONG + [_Float(2.0)],
    "ints and floats": [1] * LONG + [2.0],
    "a None": [1] * LONG + [None],
    "short": [1, 2, 3],
    "empty": [],
}


@pytest.mark.parametrize("values", LISTS.values(), ids=LISTS.keys())
@pytest.mark.parametrize("twin", ["c", "python"])
def test_a_list_comes_back_as_it_left(
    values: list[Any], twin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if twin == "python":
        monkeypatch.setattr(
            serialization, "_machine_numbers", serialization._machine_numbers_in_python
        )
    elif fastpath is None:
        pytest.skip(NOT_BUILT)
    back = serialization.as_list(pickle.loads(serialization.dumps_list(values)))
    assert type(back) is list
    assert _bits(back) == _bits(values)


@needs_extension
@pytest.mark.parametrize(
    ("values", "typecode"),
    [(LISTS["ints"], "q"), (LISTS["int64 edges"], "q"), (LISTS["floats"], "d")],
)
def test_long_lists_of_one_kind_of_number_travel_as_an_array(
    values: list[Any], typecode: str
) -> None:
    loaded = pickle.loads(serialization.dumps_list(values))
    assert type(loaded) is array
    assert loaded.typecode == typecode


@needs_extension
@pytest.mark.parametrize(
    "name",
    [
        "an int beyond 64 bits",
        "a bool among ints",
        "only bools",
        "an int subclass",
        "a float subclass",
        "ints and floats",
        "a None",
        "short",
        "empty",
    ],
)
def test_anything_else_keeps_its_pickle(name: str) -> None:
    assert type(pickle.loads(serialization.dumps_list(LISTS[name]))) is list


@needs_extension
def test_the_extension_writes_the_numbers_bits() -> None:
    ints = LISTS["int64 edges"]
    assert fastpath.machine_numbers(ints) == ("q", array("q", ints).tobytes())
    floats = LISTS["floats"]
    assert fastpath.machine_numbers(floats) == ("d", array("d", floats).tobytes())
    with pytest.raises(TypeError, match="takes a list"):
        fastpath.machine_numbers((1, 2))  # type: ignore[arg-type]


def test_results_with_failed_positions_keep_their_nones() -> None:
    results: list[object] = list(range(LONG * 2))
    results[5] = None
    packed, errors = serialization.pack_results(results, {5})
    assert errors == {}
    values, unpickling_errors = serialization.unpack_results(packed)
    assert unpickling_errors == {}
    assert values == results


@pytest.mark.parametrize("values", [LISTS["ints"], LISTS["floats"], LISTS["a bool among ints"]])
def test_call_items_and_results_round_trip(values: list[Any]) -> None:
    items, errors = serialization.unpack_call_items(serialization.pack_call_items(values))
    assert errors == {}
    assert _bits(items) == _bits(values)
    packed, errors = serialization.pack_results(values, ())
    assert errors == {}
    results, unpickling_errors = serialization.unpack_results(packed)
    assert unpickling_errors == {}
    assert _bits(results) == _bits(values)


def test_call_items_of_other_kinds_are_not_touched() -> None:
    for items in (tuple(range(LONG)), range(LONG), [("tuple", 1)] * LONG):
        packed = serialization.pack_call_items(items)  # type: ignore[arg-type]
        assert isinstance(packed, PackedItems)
        back, errors = serialization.unpack_call_items(packed)
        assert errors == {}
        assert type(back) is type(items)
        assert back == items
