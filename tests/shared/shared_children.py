"""Functions that child processes run in the shared-state tests (importable under spawn)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import corepool


def add_numbers(shared: corepool.Dict, name: str, count: int) -> None:
    for _ in range(count):
        shared.increment(name)


def add_numbers_racily(shared: corepool.Dict, name: str, count: int) -> None:
    for _ in range(count):
        shared[name] += 1


def read_modify_write_in_two_steps(shared: corepool.Dict, read_done: Any, other_wrote: Any) -> None:
    """``shared["n"] += 1`` cut in two, with another process writing in between."""
    value = shared["n"]
    read_done.set()
    other_wrote.wait(30)
    shared["n"] = value + 1


def increment_once(shared: corepool.Dict, started: Any) -> None:
    started.set()
    shared.increment("n")


def increment_while_waiting(shared: corepool.Dict, inside: Any, other_started: Any) -> None:
    def wait_then_add(value: int) -> int:
        inside.set()
        other_started.wait(30)
        return value + 1

    shared.update_with("n", wait_then_add, 0)


def exercise_dict(shared: corepool.Dict, results: Any) -> None:
    """Every mapping operation from a child; reports what it saw."""
    seen = {"initial": shared.copy(), "len": len(shared), "contains": "a" in shared}
    shared["child"] = os.getpid()
    shared.update({"u1": 1, "u2": 2})
    del shared["a"]
    seen["popped"] = shared.pop("b")
    seen["setdefault"] = shared.setdefault("c", "new")
    seen["incremented"] = shared.increment("counter", 5)
    with shared.transaction():
        shared["t1"] = "x"
        shared["t2"] = shared["t1"] * 2
    seen["keys"] = list(shared)
    seen["items"] = list(shared.items())
    results.put(seen)


def exercise_list(shared: corepool.List, results: Any) -> None:
    seen = {"initial": shared.copy(), "len": len(shared), "first": shared[0]}
    shared.append("child")
    shared.insert(0, "head")
    shared.extend([7, 8])
    seen["popped"] = shared.pop()
    shared[1] = "replaced"
    shared.increment(-1, 100)
    shared.sort(key=str)
    seen["after"] = shared.copy()
    results.put(seen)


def hold_transaction_then_wait(shared: corepool.Dict, half_written: Any) -> None:
    """Write half of a transaction, say so, and wait to be killed inside it."""
    with shared.transaction():
        shared["first"] = "half"
        shared.increment("counter")
        half_written.set()
        while True:
            time.sleep(3600)


def read_forever(shared: corepool.Dict, reading: Any) -> None:
    """Die inside a read: keep a snapshot open while told to stop."""
    snapshot = shared.copy()
    reading.set()
    assert snapshot is not None
    while True:
        time.sleep(3600)


def create_and_report(kind: str, results: Any, hold: bool) -> None:
    shared = corepool.Dict({"made": "by child"}) if kind == "Dict" else corepool.List([1])
    results.put(shared.name)
    if hold:
        signal.pause()


def identity(value: Any) -> Any:
    return value


def increment_in_task(shared: corepool.Dict, name: str) -> int:
    return int(shared.increment(name))


def append_in_task(shared: corepool.List, value: Any) -> int:
    shared.append(value)
    return len(shared)


def make_dict_in_task() -> str:
    shared = corepool.Dict({"from": "task"})
    name = shared.name
    shared.close()
    return name


def fill_row(shared: Any, row: int) -> None:
    shared[row] = row


def describe_array(array: Any) -> dict[str, Any]:
    """What a task sees of an array argument: its sum, and which file its memory is mapped from."""
    import mmap

    base = array.base
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    mapped_from = None
    if base is not None:
        address = array.__array_interface__["data"][0]
        with open("/proc/self/maps") as maps:
            for line in maps:
                span, *rest = line.split()
                start, end = (int(part, 16) for part in span.split("-"))
                if start <= address < end and len(rest) >= 5:
                    mapped_from = rest[-1] if rest[-1] != "(deleted)" else rest[-2]
    return {
        "sum": float(array.sum()),
        "mapped_from": mapped_from,
        "writeable": bool(array.flags.writeable),
    }


def scribble(array: Any) -> float:
    array[0] += 1.0
    return float(array[0])


def make_array(size: int) -> Any:
    import numpy

    return numpy.arange(size, dtype=numpy.float64)


def slow_copy(array: Any) -> Any:
    time.sleep(0.2)  # a task that takes a while, so terminate() finds some running
    return array.copy()


def die_holding(array: Any) -> None:
    assert array.sum() > 0
    os.kill(os.getpid(), signal.SIGKILL)


# -- one lifecycle for every kind of shared object (test_lifecycle.py)


def make_shared(kind: str) -> Any:
    """A new shared object of ``kind`` holding the marker 7."""
    if kind == "SharedArray":
        shared = corepool.SharedArray(4, "i8")
        shared[:] = 7
        return shared
    if kind == "Dict":
        return corepool.Dict({"marker": 7})
    return corepool.List([7])


def marker_of(shared: Any) -> int:
    if isinstance(shared, corepool.Dict):
        return int(shared["marker"])
    return int(shared[0])


def set_marker(shared: Any, value: int) -> None:
    if isinstance(shared, corepool.Dict):
        shared["marker"] = value
    else:
        shared[0] = value


def make_and_report(kind: str, results: Any, hold: bool) -> None:
    """Make an object, put its pickle in ``results``, and (``hold``) wait to be killed."""
    import pickle

    shared = make_shared(kind)
    results.put(pickle.dumps(shared))
    if hold:
        signal.pause()


def attach_and_wait(shared: Any, ready: Any) -> None:
    """Hold ``shared`` (it was unpickled to get here) and wait to be killed."""
    assert marker_of(shared) in (7, 8)
    ready.set()
    signal.pause()


def kill_myself_holding(shared: Any) -> None:
    set_marker(shared, 8)
    os.kill(os.getpid(), signal.SIGKILL)
