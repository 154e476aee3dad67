"""``Choice``: corepool's internal ``enum.Enum``, without the cost of making one.

    class Step(Choice):
        WAIT = "wait"
        ASK = "ask"

        def next(self) -> Step: ...

The type checker sees ``enum.Enum`` itself (the name is bound to it under ``TYPE_CHECKING``), so
members, values and exhaustiveness are checked as usual.  At run time each upper-case name of the
class body becomes a member: an instance of the class made once, with ``name`` and ``value``,
compared by identity, usable as a dict key, pickled by name, iterated in definition order
(``list(Step)``), found by value (``Step("wait")``), shown as ``<Step.WAIT: 'wait'>``.  A class
that also derives from ``str`` or ``int`` (``class Stage(str, Choice)``) has members that are
that type's values, as with ``enum``'s mixins.

What it skips is ``enum``'s machinery: making an ``enum.Enum`` class costs ~90-100 µs on a small
machine on Python 3.10 to 3.13, ~0.15 ms cold, and eight of them were on a program's first
pool's path (benchmarks/start_first).  ``_record.Record`` does the same for ``NamedTuple``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any


class _ChoiceMeta(type):
    _members_: dict[str, Any]
    _by_value_: dict[Any, Any]

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        cls = super().__new__(mcs, name, bases, namespace)
        if not any(isinstance(base, _ChoiceMeta) for base in bases):  # Choice itself
            return cls
        value_type: Any = next((base for base in bases if base in (str, int)), None)
        members: dict[str, Any] = {}
        for key, value in namespace.items():
            if not key.isupper() or key.startswith("_") or callable(value):
                continue
            member = object.__new__(cls) if value_type is None else value_type.__new__(cls, value)  # type: ignore[arg-type]
            member.__dict__.update(_name_=key, _value_=value)
            type.__setattr__(cls, key, member)
            members[key] = member
        cls._members_ = members
        cls._by_value_ = {member._value_: member for member in members.values()}
        if value_type is not None:
            # ``str`` or ``int`` comes first in the class's MRO: its ``str()`` and ``format()``
            # stay (the value), but a member is shown, copied and pickled as a member, so that it
            # is still the one member after a trip through pickle (``Stage`` from a worker).
            for kept in ("__repr__", "__reduce_ex__", "__copy__", "__deepcopy__"):
                if kept not in namespace:
                    type.__setattr__(cls, kept, _Choice.__dict__[kept])
            if "__str__" not in namespace:  # int has none of its own: object's would repr()
                type.__setattr__(cls, "__str__", int.__repr__ if value_type is int else str.__str__)
        return cls

    def __call__(cls, value: object) -> Any:
        """The member whose value is ``value`` (members are made once, with the class)."""
        try:
            return cls._by_value_[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a valid {cls.__qualname__}") from None

    def __iter__(cls) -> Iterator[Any]:
        return iter(cls._members_.values())

    def __len__(cls) -> int:
        return len(cls._members_)

    def __setattr__(cls, name: str, value: object) -> None:
        if name in cls.__dict__.get("_members_", ()):
            raise AttributeError(f"cannot reassign member {name!r} of {cls.__qualname__}")
        super().__setattr__(name, value)


class _Choice(metaclass=_ChoiceMeta):
    _name_: str
    _value_: Any

    @property
    def name(self) -> str:
        return self._name_

    @property
    def value(self) -> Any:
        return self._value_

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__}.{self._name_}: {self._value_!r}>"

    def __str__(self) -> str:
        return f"{type(self).__qualname__}.{self._name_}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce_ex__(self, protocol: object) -> tuple[Any, ...]:
        return getattr, (type(self), self._name_)

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: object) -> Any:
        return self


if TYPE_CHECKING:
    from enum import Enum as Choice
else:
    Choice = _Choice

__all__ = ["Choice"]
