"""``Record`` behaves as the ``typing.NamedTuple`` the type checker takes it for.

Each check builds the same class both ways and compares them, so that a difference from the
standard library shows as one.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any, NamedTuple

import pytest

import corepool
from corepool._record import Record


class Point(Record):
    """A point."""

    x: int
    y: int = 0
    label: str = "origin"

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class PointNT(NamedTuple):
    x: int
    y: int = 0
    label: str = "origin"


def _pairs() -> list[tuple[Any, Any]]:
    return [
        (Point(1), PointNT(1)),
        (Point(1, 2), PointNT(1, 2)),
        (Point(x=3, label="a"), PointNT(x=3, label="a")),
        (Point(4, label="b", y=5), PointNT(4, label="b", y=5)),
    ]


@pytest.mark.parametrize(("ours", "theirs"), _pairs())
def test_fields_defaults_and_values_match_namedtuple(ours: Any, theirs: Any) -> None:
    assert tuple(ours) == tuple(theirs)
    assert ours == theirs  # both are tuples
    assert (ours.x, ours.y, ours.label) == (theirs.x, theirs.y, theirs.label)
    assert type(ours)._fields == type(theirs)._fields
    assert type(ours)._field_defaults == type(theirs)._field_defaults
    assert type(ours).__match_args__ == type(theirs).__match_args__
    assert ours._asdict() == theirs._asdict()
    assert repr(ours) == repr(theirs).replace("PointNT", "Point")
    assert hash(ours) == hash(theirs)


def test_replace_make_and_methods() -> None:
    point = Point(1, 2)
    assert point._replace(y=7) == Point(1, 7)
    assert type(point._replace(y=7)) is Point
    assert Point._make([5, 6, "c"]) == Point(5, 6, "c")
    assert point.norm1() == 3
    assert isinstance(point, tuple)
    assert Point.__doc__ == "A point."
    with pytest.raises(AttributeError):
        point.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        point.extra = 1  # type: ignore[attr-defined]  # no __dict__: __slots__ = ()


def test_pickles_and_copies_as_itself() -> None:
    point = Point(1, 2, "p")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(point, protocol))
        assert back == point
        assert type(back) is Point
    assert copy.copy(point) == point
    assert copy.deepcopy(point) == point


def test_pattern_matching_by_position() -> None:
    match Point(8, 9):
        case Point(x, y):
            assert (x, y) == (8, 9)
        case _:
            pytest.fail("a Record did not match its own class pattern")


@pytest.mark.parametrize(
    ("build", "kind", "message"),
    [
        (Point, TypeError, "missing required argument: 'x'"),
        (lambda: Point(1, 2, "a", 4), TypeError, "takes 3 arguments but 4 were given"),
        (lambda: Point(1, x=2), TypeError, "multiple values for argument 'x'"),
        (lambda: Point(1, z=2), TypeError, "unexpected keyword argument 'z'"),
        (lambda: Point(1)._replace(z=3), ValueError, "unexpected field names: ['z']"),
        (lambda: Point._make([1]), TypeError, "Expected 3 arguments, got 1"),
    ],
)
def test_wrong_arguments_are_refused_clearly(build: Any, kind: type, message: str) -> None:
    with pytest.raises(kind, match=message.replace("[", r"\[").replace("]", r"\]")):
        build()


def test_definitions_namedtuple_refuses_are_refused() -> None:
    with pytest.raises(TypeError, match="'b' without a default follows one with a default"):

        class DefaultFirst(Record):
            a: int = 0
            b: int

    with pytest.raises(TypeError, match="cannot start with an underscore"):

        class Private(Record):
            _hidden: int

    with pytest.raises(TypeError, match="cannot define __init__"):

        class WithInit(Record):
            a: int

            def __init__(self) -> None:
                pass

    with pytest.raises(TypeError, match="cannot define _replace"):

        class OwnReplace(Record):
            a: int

            def _replace(self, **changes: Any) -> OwnReplace:  # type: ignore[override]
                return self

    with pytest.raises(TypeError, match="derives from Record alone"):

        class Mixed(Record, dict):  # type: ignore[misc]
            a: int


def test_signature_lists_the_fields_and_defaults_as_namedtuple_does() -> None:
    import inspect
    import pydoc

    def fields(cls: Any) -> list[tuple[str, Any]]:
        return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]

    assert fields(Point) == fields(PointNT)  # NamedTuple's also carries the annotations
    assert "Point(x, y=0, label='origin')" in pydoc.render_doc(Point, renderer=pydoc.plaintext)
    # the public records: what help(corepool.Settings) shows a user
    assert "target_chunk_seconds=0.01" in str(inspect.signature(corepool.Settings))
    assert str(inspect.signature(corepool.WorkerInfo)) == "(index, pid, name, backend)"
