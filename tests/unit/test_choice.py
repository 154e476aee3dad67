"""``Choice`` behaves as the ``enum.Enum`` the type checker takes it for.

Each check builds the same class both ways and compares them, so that a difference from the
standard library shows as one; where ``Choice`` differs on purpose (``str()`` of a member of a
``str`` or ``int`` class gives the value), the test says so.
"""

from __future__ import annotations

import copy
import enum
import pickle
from typing import Any

import pytest

from corepool._choice import Choice


class Step(Choice):
    WAIT = "wait"
    """A member's docstring is only an expression: not a member."""
    ASK = "ask"
    GIVE_UP = "give up"

    def next(self) -> Step:
        return _NEXT[self]

    @property
    def final(self) -> bool:
        return self is Step.GIVE_UP


_NEXT = {Step.WAIT: Step.ASK, Step.ASK: Step.GIVE_UP, Step.GIVE_UP: Step.GIVE_UP}


class StepEnum(enum.Enum):
    WAIT = "wait"
    ASK = "ask"
    GIVE_UP = "give up"


class Stage(str, Choice):
    RUN = "running the task"
    PICKLE = "pickling the result"


class StageEnum(str, enum.Enum):
    RUN = "running the task"
    PICKLE = "pickling the result"


class Style(int, Choice):
    APPLY = 0
    ONE = 1


class StyleEnum(enum.IntEnum):
    APPLY = 0
    ONE = 1


PAIRS = [(Step, StepEnum), (Stage, StageEnum), (Style, StyleEnum)]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda cls: cls.__name__)
def test_members_names_values_and_order_as_enum(ours: Any, theirs: Any) -> None:
    assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs]
    assert len(ours) == len(theirs)
    for member in theirs:
        assert ours(member.value) is getattr(ours, member.name)
        assert repr(getattr(ours, member.name)) == repr(member).replace("Enum", "")


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda cls: cls.__name__)
def test_an_unknown_value_is_refused_as_enum_refuses_it(ours: Any, theirs: Any) -> None:
    for cls in (ours, theirs):
        with pytest.raises(ValueError, match="is not a valid"):
            cls("no such value")
    with pytest.raises(ValueError, match="is not a valid"):
        ours([])  # unhashable: still a ValueError


@pytest.mark.timeout(10)
@pytest.mark.parametrize("cls", [Step, Stage, Style], ids=lambda cls: cls.__name__)
def test_a_member_stays_the_one_member_through_pickle_and_copy(cls: Any) -> None:
    for member in cls:
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(member, protocol)) is member
        assert copy.copy(member) is member
        assert copy.deepcopy({"m": member})["m"] is member


@pytest.mark.timeout(10)
def test_members_compare_by_identity_and_key_dicts() -> None:
    assert Step.WAIT is not Step.ASK and Step.WAIT != Step.ASK
    assert Step.WAIT != "wait"  # as enum.Enum: a plain member is not its value
    assert {Step.WAIT: 1, Step.ASK: 2}[Step.ASK] == 2
    assert str(Step.WAIT) == str(StepEnum.WAIT).replace("Enum", "") == "Step.WAIT"
    assert f"{Step.ASK}" == "Step.ASK"


@pytest.mark.timeout(10)
def test_methods_and_properties_of_the_class_body_work_on_members() -> None:
    assert Step.WAIT.next() is Step.ASK
    assert Step.GIVE_UP.final and not Step.WAIT.final
    assert [m.name for m in Step] == ["WAIT", "ASK", "GIVE_UP"]  # methods are not members


@pytest.mark.timeout(10)
def test_members_of_a_str_or_int_class_are_its_values() -> None:
    assert isinstance(Stage.RUN, str) and Stage.RUN == "running the task"
    assert Stage.RUN in ("running the task",) and hash(Stage.RUN) == hash("running the task")
    assert Stage.RUN.upper() == "RUNNING THE TASK"
    assert isinstance(Style.ONE, int) and Style.ONE + 1 == 2 and Style.ONE == StyleEnum.ONE
    # On purpose, unlike a (str, enum.Enum) member: str() and format() give the value.
    assert str(Stage.RUN) == f"{Stage.RUN}" == "running the task"
    assert str(Style.ONE) == "1"  # as an IntEnum's from Python 3.11 on


@pytest.mark.timeout(10)
def test_a_member_cannot_be_rebound() -> None:
    with pytest.raises(AttributeError, match="cannot reassign member 'WAIT'"):
        Step.WAIT = Step.ASK  # type: ignore[misc]
    assert Step.WAIT.value == "wait"
