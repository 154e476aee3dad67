"""Pickling a Dask job's function and items, with large NumPy arrays sent once per worker.

A large array (``LARGE_ARRAY_BYTES`` or more) found while pickling is scattered to the cluster
once per job (``client.scatter``) and pickled as its number; the Dask task names the scattered
copies it needs, and Dask hands them to ``run_chunk``, fetching each to a Dask worker once and
keeping it there while the job lives.  So ``pool.map(partial(f, big), xs)`` or a ``starmap``
whose items share one array sends the array to each worker once, not once per task.

Objects are recognised by identity: the job keeps every array it scattered, so that an ``id``
is never reused while the job lives.
"""

from __future__ import annotations

import io
import pickle
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import distributed

PROTOCOL = pickle.HIGHEST_PROTOCOL

# Below 1 MiB an array costs less to send with each task than a scatter's round trip (~2 ms on
# loopback) and a dependency per task in the scheduler.
LARGE_ARRAY_BYTES = 1 << 20


def _is_large_array(value: object) -> bool:
    kind = type(value)
    return (
        kind.__name__ == "ndarray"
        and kind.__module__ == "numpy"
        and getattr(value, "nbytes", 0) >= LARGE_ARRAY_BYTES
    )


class ArrayPacker:
    """One job's pickling (thread-safe: the feeder and the rework thread may both pack)."""

    def __init__(self, client: distributed.Client) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._numbers: dict[int, int] = {}
        self._kept: list[Any] = []
        self._scattered: dict[int, distributed.Future] = {}

    def dumps(self, value: object, *, by_value: bool = False) -> tuple[bytes, bool, frozenset[int]]:
        """``value`` pickled, whether by value (cloudpickle), and the arrays it names."""
        if not by_value:
            try:
                blob = pickle.dumps(value, PROTOCOL)
            except Exception:  # noqa: BLE001 - let cloudpickle try (lambdas, closures)
                by_value = True
            else:
                if len(blob) < LARGE_ARRAY_BYTES:
                    return blob, False, frozenset()
        if by_value:
            import cloudpickle

            blob = bytes(cloudpickle.dumps(value, PROTOCOL))
            if len(blob) < LARGE_ARRAY_BYTES:
                return blob, True, frozenset()
        return self._dumps_naming_arrays(value, by_value)

    def futures(self, numbers: frozenset[int]) -> dict[int, distributed.Future]:
        with self._lock:
            return {number: self._scattered[number] for number in numbers}

    def _dumps_naming_arrays(
        self, value: object, by_value: bool
    ) -> tuple[bytes, bool, frozenset[int]]:
        file = io.BytesIO()
        named: set[int] = set()

        def persistent_id(obj: object) -> int | None:
            if not _is_large_array(obj):
                return None
            number = self._number_for(obj)
            named.add(number)
            return number

        base: type[pickle.Pickler] = pickle.Pickler
        if by_value:
            import cloudpickle

            base = cloudpickle.Pickler

        # A subclass, not an attribute set on an instance: Python 3.13's C pickler made
        # ``persistent_id`` read-only on instances.
        class NamingPickler(base):  # type: ignore[valid-type,misc]
            def persistent_id(self, obj: object) -> int | None:
                return persistent_id(obj)

        pickler = NamingPickler(file, PROTOCOL)
        pickler.dump(value)
        return file.getvalue(), by_value, frozenset(named)

    def _number_for(self, array: object) -> int:
        with self._lock:
            number = self._numbers.get(id(array))
            if number is None:
                number = len(self._kept)
                self._kept.append(array)
                self._numbers[id(array)] = number
                self._scattered[number] = self._client.scatter(array, hash=False)
            return number
