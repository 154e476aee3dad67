"""``Record``: corepool's internal ``typing.NamedTuple``, built without generating code.

    class Ready(Record):
        pid: int

The type checker sees ``typing.NamedTuple`` itself (the name is bound to it under
``TYPE_CHECKING``), so fields, defaults and methods are checked as usual.  At run time the class
is the same kind of object: a ``tuple`` subclass with a property per field, ``_fields``,
``_field_defaults``, ``_make``, ``_replace``, ``_asdict``, a readable ``repr`` and tuple
pickling.  What it skips is the cost of making one: ``typing.NamedTuple`` checks every
annotation (compiling a ``ForwardRef`` for each one written as a string) and
``collections.namedtuple`` compiles a ``__new__`` for each class, ~0.1-0.2 ms a class on a small
machine; corepool defines ~20 records on a program's first pool's path (benchmarks/start_first).
A record's ``__new__`` is one shared function instead, as fast when every field is given by
position (how the hot messages are built, or rebuilt with ``tuple.__new__`` by ``_wire/codec``);
``help()`` and ``inspect.signature`` still show the fields and their defaults, from a signature
made when first asked for (``inspect`` is no import to pay at start-up).  The public ``Settings``
and ``WorkerInfo`` are records too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

try:
    # What collections.namedtuple uses: a C descriptor (no stubs).
    from _collections import _tuplegetter  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - another Python implementation
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str) -> Any:
        return property(itemgetter(index), doc=doc)


class _RecordMeta(type):
    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if not any(isinstance(base, _RecordMeta) for base in bases):  # Record itself
            return super().__new__(mcs, name, bases, namespace)
        if len(bases) != 1:
            raise TypeError(f"{name}: a Record derives from Record alone")
        return _build(name, namespace)


class _Record(tuple[Any, ...], metaclass=_RecordMeta):
    __slots__ = ()


def _build(name: str, namespace: dict[str, Any]) -> type:
    fields = _field_names(namespace)
    defaults: dict[str, Any] = {}
    for index, field in enumerate(fields):
        if field.startswith("_"):
            raise TypeError(f"{name}: field names cannot start with an underscore: {field!r}")
        if field in namespace:
            defaults[field] = namespace[field]
        elif defaults:
            raise TypeError(f"{name}: field {field!r} without a default follows one with a default")
        namespace[field] = _tuplegetter(index, f"Alias for field number {index}")
    made = {
        "__slots__": (),
        "__new__": _constructor(name, fields, defaults),
        "__getnewargs__": _getnewargs,
        "__match_args__": fields,
        "_fields": fields,
        "_field_defaults": defaults,
        "_make": classmethod(_make),
        "_replace": _replace,
        "_asdict": _asdict,
    }
    clash = (made.keys() | {"__init__"}) & namespace.keys()
    if clash:  # as typing.NamedTuple, which refuses to let a class body overwrite them
        raise TypeError(f"{name}: a Record cannot define {', '.join(sorted(clash))}")
    namespace.update(made)
    namespace["__signature__"] = _SIGNATURE
    namespace.setdefault("__repr__", _repr)
    namespace.setdefault("__doc__", f"{name}({', '.join(fields)})")
    return type(name, (tuple,), namespace)


class _Signature:
    """A record class's ``__signature__``: its fields as parameters, made on first access (what
    ``inspect.signature`` and ``help()`` read), then kept on the class."""

    def __get__(self, instance: object, owner: type) -> Any:
        import inspect

        parameters = [
            inspect.Parameter(
                field,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=owner._field_defaults.get(field, inspect.Parameter.empty),  # type: ignore[attr-defined]
            )
            for field in owner._fields  # type: ignore[attr-defined]
        ]
        signature = inspect.Signature(parameters)
        type.__setattr__(owner, "__signature__", signature)
        return signature


_SIGNATURE = _Signature()


def _field_names(namespace: dict[str, Any]) -> tuple[str, ...]:
    if "__annotations__" in namespace:
        return tuple(namespace["__annotations__"])
    annotate = namespace.get("__annotate__")  # Python 3.14: annotations evaluated when asked for
    if annotate is None:
        return ()
    import annotationlib  # type: ignore[import-not-found,unused-ignore]

    return tuple(annotationlib.call_annotate_function(annotate, annotationlib.Format.FORWARDREF))


def _constructor(name: str, fields: tuple[str, ...], defaults: dict[str, Any]) -> Any:
    count = len(fields)
    tail = tuple(defaults.values())  # the defaults of the last fields, in order
    required = count - len(tail)

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if not kwargs and required <= len(args) <= count:  # how messages are built, per chunk
            return tuple.__new__(cls, args + tail[len(args) - required :])
        if len(args) > count:
            raise TypeError(f"{name}() takes {count} arguments but {len(args)} were given")
        values = list(args)
        for field in fields[len(args) :]:
            if field in kwargs:
                values.append(kwargs.pop(field))
            elif field in defaults:
                values.append(defaults[field])
            else:
                raise TypeError(f"{name}() missing required argument: {field!r}")
        if kwargs:
            _refuse(name, fields, kwargs)
        return tuple.__new__(cls, values)

    __new__.__qualname__ = f"{name}.__new__"
    return __new__


def _refuse(name: str, fields: tuple[str, ...], kwargs: dict[str, Any]) -> NoReturn:
    extra = next(iter(kwargs))
    if extra in fields:
        raise TypeError(f"{name}() got multiple values for argument {extra!r}")
    raise TypeError(f"{name}() got an unexpected keyword argument {extra!r}")


def _getnewargs(self: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(self)


def _make(cls: type, iterable: Any) -> Any:
    result: tuple[Any, ...] = tuple.__new__(cls, iterable)
    expected = len(cls._fields)  # type: ignore[attr-defined]
    if len(result) != expected:
        raise TypeError(f"Expected {expected} arguments, got {len(result)}")
    return result


def _replace(self: Any, **changes: Any) -> Any:
    result = self._make(map(changes.pop, self._fields, self))
    if changes:
        raise ValueError(f"Got unexpected field names: {list(changes)!r}")
    return result


def _asdict(self: Any) -> dict[str, Any]:
    return dict(zip(self._fields, self, strict=True))


def _repr(self: Any) -> str:
    pairs = ", ".join(f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True))
    return f"{type(self).__name__}({pairs})"


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record

__all__ = ["Record"]
