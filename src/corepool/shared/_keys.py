"""Keys and values of shared objects as bytes.

A Python dict finds a key by its hash and ``==``.  Across processes neither works directly (``str``
hashes are salted per process, ``==`` needs both objects in one place), so every key is turned
into a *canonical* byte string: equal keys give equal bytes, as ``==`` says for the built-in
types.

    1, 1.0, True, 1+0j, Fraction(1), Decimal(1)   ──▶  b"i" + two's-complement bytes
    0.5, Fraction(1, 2), Decimal("0.5")           ──▶  b"q" + numerator + denominator
    inf, -inf, nan (float or Decimal)             ──▶  b"f" + "+inf" / "-inf" / "nan"
    2+3j                                          ──▶  b"c" + real part + imaginary part
    "name" (and str subclasses, StrEnum)          ──▶  b"s" + UTF-8
    b"raw"                                        ──▶  b"b" + the bytes
    (1, "a") (and namedtuples)                    ──▶  b"t" + each element, length-prefixed
    frozenset({...})                              ──▶  b"z" + the elements' encodings, sorted
    None                                          ──▶  b"N"
    anything else hashable (Enum members, frozen dataclasses, dates, ...)
                                                  ──▶  b"p" + its pickle

LMDB keys are at most 511 bytes; a longer encoding is replaced by ``b"H"`` + its 32-byte BLAKE2b
digest.  A key whose encoding decodes back to itself (an exact ``str``, ``int``, ``bytes``,
``None`` or a tuple of those) is stored only as its encoding; any other key is stored pickled
too, so iteration returns the very key first inserted, as a dict does.

Where this is not ``==``: objects of other types are the same key when their pickles are equal;
that agrees with ``==`` for value types whose equal values pickle alike (enum members, frozen
dataclasses of built-ins, naive dates), not for types whose ``==`` equates different states
(aware datetimes in different time zones: convert them to UTC first).  Every NaN is one key
(a dict tells NaNs apart only by identity, which does not cross processes).
"""

from __future__ import annotations

import math
import numbers
import operator
import pickle
import sys
from fractions import Fraction
from hashlib import blake2b
from typing import Any

__all__ = ["MAX_KEY_BYTES", "decode_key", "dump_value", "encode_key", "load_value"]

MAX_KEY_BYTES = 511
"""LMDB's default limit (MDB_MAXKEYSIZE); longer encodings are hashed."""

_EXACT_TYPES = (str, int, bytes, type(None))


def encode_key(key: object) -> tuple[bytes, bool]:
    """The canonical bytes of ``key`` and whether they decode back to an equal key of its type.

    Raises ``TypeError`` for an unhashable key, as a dict does.
    """
    kind = type(key)
    if kind is str:
        encoded, exact = b"s" + key.encode("utf-8", "surrogatepass"), True  # type: ignore[attr-defined]
    elif kind is int:
        encoded, exact = b"i" + _int_bytes(key), True  # type: ignore[arg-type]
    else:
        encoded, exact = _encode(key)
    if len(encoded) > MAX_KEY_BYTES:
        return b"H" + blake2b(encoded, digest_size=32).digest(), False
    return encoded, exact


def _encode(key: object) -> tuple[bytes, bool]:
    kind = type(key)
    if kind is str:
        return b"s" + key.encode("utf-8", "surrogatepass"), True  # type: ignore[attr-defined]
    if kind is int:
        return b"i" + _int_bytes(key), True  # type: ignore[arg-type]
    if kind is bytes:
        return b"b" + key, True  # type: ignore[operator]
    if key is None:
        return b"N", True
    if kind is tuple:
        return _encode_tuple(key, exact_type=True)  # type: ignore[arg-type]
    hash(key)  # an unhashable key fails here, with Python's own message
    if isinstance(key, str):
        return b"s" + str.encode(key, "utf-8", "surrogatepass"), False
    if isinstance(key, bytes):
        return b"b" + bytes(key), False
    if isinstance(key, tuple):
        return _encode_tuple(key, exact_type=False)
    if isinstance(key, frozenset):
        parts = sorted(_framed(_encode(element)[0]) for element in key)
        return b"z" + b"".join(parts), False
    number = _encode_number(key)
    if number is not None:
        return number, False
    return b"p" + _pickle_key(key), False


def _encode_tuple(key: tuple[Any, ...], exact_type: bool) -> tuple[bytes, bool]:
    exact = exact_type
    parts = []
    for element in key:
        encoded, element_exact = _encode(element)
        exact = exact and element_exact
        parts.append(_framed(encoded))
    return b"t" + b"".join(parts), exact


def _encode_number(key: object) -> bytes | None:
    if isinstance(key, numbers.Integral):  # bool, IntEnum, numpy integers
        return b"i" + _int_bytes(operator.index(key))
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(key, decimal.Decimal):
        if not key.is_finite():
            return _special(float(key))
        return _rational(Fraction(key))
    if isinstance(key, numbers.Rational):
        return _rational(Fraction(int(key.numerator), int(key.denominator)))
    if isinstance(key, numbers.Real):  # float subclasses, numpy floats
        real = float(key)
        return _special(real) if not math.isfinite(real) else _rational(Fraction(real))
    if isinstance(key, numbers.Complex):
        pair = complex(key)
        if pair.imag == 0:
            return _encode_number(pair.real)
        real_part, imag_part = _encode_number(pair.real), _encode_number(pair.imag)
        assert real_part is not None and imag_part is not None
        return b"c" + _framed(real_part) + _framed(imag_part)
    return None


def _rational(value: Fraction) -> bytes:
    if value.denominator == 1:
        return b"i" + _int_bytes(value.numerator)
    return b"q" + _framed(_int_bytes(value.numerator)) + _int_bytes(value.denominator)


def _special(value: float) -> bytes:
    if math.isnan(value):
        return b"fnan"
    return b"f+inf" if value > 0 else b"f-inf"


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True)


def _framed(encoded: bytes) -> bytes:
    return len(encoded).to_bytes(4, "big") + encoded


def _pickle_key(key: object) -> bytes:
    try:
        return pickle.dumps(key, 5)
    except Exception as error:  # reported with the key's type
        raise TypeError(
            f"cannot use a {type(key).__name__} as a key of a shared object: it cannot be "
            f"pickled ({error})"
        ) from error


def decode_key(encoded: bytes | memoryview) -> object:
    """The key an *exact* encoding stands for (see ``encode_key``)."""
    data = bytes(encoded)
    tag = data[:1]
    if tag == b"s":
        return data[1:].decode("utf-8", "surrogatepass")
    if tag == b"i":
        return int.from_bytes(data[1:], "big", signed=True)
    if tag == b"b":
        return data[1:]
    if tag == b"N":
        return None
    if tag == b"t":
        elements = []
        position = 1
        while position < len(data):
            size = int.from_bytes(data[position : position + 4], "big")
            position += 4
            elements.append(decode_key(data[position : position + size]))
            position += size
        return tuple(elements)
    raise ValueError(f"not an exact key encoding: {data[:16]!r}")


def dump_value(value: object, label: str, key: object = None) -> bytes:
    """Pickle a value to store (plain pickle, cloudpickle as the fallback, as for tasks).

    ``label`` and ``key`` name the destination in the error, e.g. ``corepool.Dict`` key ``'a'``.
    """
    try:
        return pickle.dumps(value, 5)
    except Exception:  # noqa: BLE001 - let cloudpickle try, and report its error
        pass
    try:
        import cloudpickle

        return bytes(cloudpickle.dumps(value, 5))
    except Exception as error:  # any failure: the value cannot be stored
        text = repr(key)
        where = label if key is None else f"{label} under {text[:60]}"
        raise TypeError(
            f"cannot store a {type(value).__name__} value in {where}: it cannot be pickled "
            f"({type(error).__name__}: {error})"
        ) from error


def load_value(data: bytes | memoryview) -> Any:
    return pickle.loads(data)
