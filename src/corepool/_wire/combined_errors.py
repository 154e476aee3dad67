"""Errors that are two types at once: a ``SerializationError`` that is also what pickling raised.

A call or result that cannot cross the process boundary fails with whatever pickle raised there
(``pickle.PicklingError``, ``TypeError``, the user's own exception, ``SystemExit``...).  Code
written for the standard library catches that type; corepool's users catch
``SerializationError``.  The error raised is both: an instance of a class made (once per
combination) from ``SerializationError``, the original type and any standard types the situation
calls for, with the original's ``args`` and attributes, and picklable as such.
"""

from __future__ import annotations

from typing import Any

from corepool.errors import SerializationError


def serialization_error(
    original: BaseException,
    stage: str,
    detail: str,
    *,
    also: tuple[type[BaseException], ...] = (),
    text: str | None = None,
) -> SerializationError:
    """A ``SerializationError`` that is also a ``type(original)`` and every class in ``also``.

    ``text`` is its ``str()`` (by default ``"failed while <stage>: <detail>"``).  When the
    original type cannot be combined (a final class, a layout clash, a ``__new__`` that refuses
    the original's ``args``), the error is of ``SerializationError`` and ``also`` only.
    """
    text = text if text is not None else f"failed while {stage}: {detail}"
    for mixins in ((*also, type(original)), also):
        kind = _combined_type(mixins) if mixins else None
        if kind is not None:
            try:
                return _combined_instance(
                    kind, original.args, _vars_of(original), stage, detail, text
                )
            except Exception:  # noqa: BLE001 - its __new__ refuses: try the next shape
                continue
    return SerializationError(stage, detail)


_combined_types: dict[tuple[type[BaseException], ...], type[SerializationError] | None] = {}
"""Made once per combination (a type that cannot be combined is remembered as None).  The
entries keep the original types alive; there is one per exception type that failed a pickle."""


def _combined_type(mixins: tuple[type[BaseException], ...]) -> type[SerializationError] | None:
    if mixins in _combined_types:
        return _combined_types[mixins]
    names = ", ".join(kind.__qualname__ for kind in mixins)
    namespace = {
        "__module__": __name__,
        "__qualname__": f"SerializationError[{names}]",
        "__str__": _combined_str,
        "__reduce__": _combined_reduce,
        "_mixins": mixins,
    }
    kind: type[SerializationError] | None
    try:
        # __name__ stays "SerializationError" (what repr and code that logs type names see);
        # the traceback shows the __qualname__, which names what else it is.
        kind = type("SerializationError", (SerializationError, *mixins), namespace)
    except TypeError:  # a final class, or an instance layout that clashes with another base
        kind = None
    _combined_types[mixins] = kind
    return kind


def _combined_instance(
    kind: type[SerializationError],
    args: tuple[Any, ...],
    state: dict[str, Any],
    stage: str,
    detail: str,
    text: str,
) -> SerializationError:
    error: SerializationError = kind._mixins[-1].__new__(kind, *args)  # type: ignore[attr-defined]
    try:
        # Sets what C types keep outside __dict__ (SystemExit.code, OSError.errno...).
        kind._mixins[-1].__init__(error, *args)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an __init__ that wants other arguments: args suffice
        pass
    error.args = args
    error.__dict__.update(state)
    error.stage, error.detail = stage, detail
    error._text = text  # type: ignore[attr-defined]
    return error


def _vars_of(error: BaseException) -> dict[str, Any]:
    state = getattr(error, "__dict__", None)
    return dict(state) if state else {}


def _combined_str(self: SerializationError) -> str:
    return str(self._text)  # type: ignore[attr-defined]


def _combined_reduce(self: SerializationError) -> tuple[object, ...]:
    state = {key: value for key, value in vars(self).items() if key != "_text"}
    return (
        _rebuild_combined,
        (self._mixins, self.args, state, self.stage, self.detail, str(self)),  # type: ignore[attr-defined]
    )


def _rebuild_combined(
    mixins: tuple[type[BaseException], ...],
    args: tuple[Any, ...],
    state: dict[str, Any],
    stage: str,
    detail: str,
    text: str,
) -> SerializationError:
    kind = _combined_type(mixins)
    if kind is None:  # pragma: no cover - it was made once, so it can be made again
        return SerializationError(stage, detail)
    return _combined_instance(kind, args, state, stage, detail, text)
