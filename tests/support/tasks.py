"""Functions the tests run in workers (importable by name in every worker process)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import corepool


def square(x: int) -> int:
    return x * x


def add(a: int, b: int) -> int:
    return a + b


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


def identity(x: Any) -> Any:
    return x


def sleep_then(seconds: float, value: Any = None) -> Any:
    time.sleep(seconds)
    return value


def where_am_i(_: object = None) -> tuple[int, str]:
    """The pid and thread name the task ran on."""
    return os.getpid(), threading.current_thread().name


def worker_identity(_: object = None) -> tuple[int, int, str, str]:
    info = corepool.current_worker()
    assert info is not None
    return info.index, info.pid, info.name, info.backend


class CustomError(Exception):
    """A user-defined exception that pickles normally."""


def raise_value_error(x: object = None) -> None:
    raise ValueError(f"bad value {x!r}")


def raise_custom(x: object = None) -> None:
    raise CustomError(f"custom failure on {x!r}")


def fail_on(x: int, bad: int = 3) -> int:
    if x == bad:
        raise ValueError(f"item {x} is bad")
    return x


class UnpicklableError(Exception):
    """Holds a lock, so it cannot be pickled."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def raise_unpicklable(_: object = None) -> None:
    raise UnpicklableError("cannot travel")


class NeedsTwoArgsError(Exception):
    """Pickles fine but cannot be unpickled: __init__ wants two arguments."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def raise_needs_two_args(_: object = None) -> None:
    raise NeedsTwoArgsError("left", "right")


def return_unpicklable(_: object = None) -> object:
    return threading.Lock()


class BrokenOnLoad:
    """Pickles fine; unpickling raises (so unpickling in the other process fails)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_refuse_to_load, ())


def _refuse_to_load() -> None:
    raise RuntimeError("this object refuses to be unpickled")


def return_broken_on_load(_: object = None) -> BrokenOnLoad:
    return BrokenOnLoad()


LOADED_ON: list[str] = []
"""The threads of this process that unpickled a ``NotesWhereLoaded`` (as the parent)."""


class NotesWhereLoaded:
    """Unpickling it runs code (``__reduce__``): it notes the thread that did so."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_note_where_loaded, (self.value,))


def _note_where_loaded(value: Any) -> Any:
    LOADED_ON.append(threading.current_thread().name)
    return value


def return_noting_where_loaded(value: Any) -> NotesWhereLoaded:
    return NotesWhereLoaded(value)


def set_state(key: str, value: Any) -> None:
    setattr(corepool.worker_state(), key, value)


def read_state(key: str) -> Any:
    return getattr(corepool.worker_state(), key, None)


def count_calls(_: object = None) -> int:
    state = corepool.worker_state()
    state.calls = getattr(state, "calls", 0) + 1
    return int(state.calls)


def started_at(tag: Any) -> tuple[Any, int]:
    """When (monotonic ns, comparable across processes on Linux) the task started."""
    return tag, time.monotonic_ns()


def wait_for(event: Any, value: Any = None) -> Any:
    """Block until ``event`` (a Manager or threading Event) is set."""
    if not event.wait(30):
        raise TimeoutError("gate never opened")
    return value


def square_or_wait(x: int, gate: Any, at: int) -> int:
    """``square``, except that item ``at`` first waits for ``gate``."""
    if x == at:
        wait_for(gate)
    return x * x


def waits_for_a_later_item(index: int, later_started: Any) -> bool:
    """For a map of 6 items on 2 workers, shaped like the tutorial's is_prime: item 1 runs
    0.3 s, item 2 waits (up to 10 s) until item 3 has started, item 3 says so, the others end
    at once.  False only from item 2, if it gave up waiting."""
    if index == 1:
        time.sleep(0.3)
    elif index == 2:
        return bool(later_started.wait(10))
    elif index == 3:
        later_started.set()
    return True


def nested_pool_sum(n: int) -> int:
    """A task that starts a pool of its own (workers are not daemonic)."""
    with corepool.Pool(2) as pool:
        return sum(pool.map(square, range(n)))


def native_thread_limit(_: object = None) -> str | None:
    return os.environ.get("OMP_NUM_THREADS")


def signal_then_wait(started: Any, gate: Any, value: Any = None) -> Any:
    """Set ``started``, then block until ``gate`` is set."""
    started.set()
    return wait_for(gate, value)


def report_pid_then_wait(pids: Any, gate: Any) -> None:
    """Put this worker's pid on ``pids`` (a queue), then block until ``gate`` is set."""
    pids.put(os.getpid())
    wait_for(gate)


class Payload:
    """A picklable object that can be weakly referenced (to check who keeps it alive)."""

    def __init__(self, value: int) -> None:
        self.value = value


def python_loop(n: int, loops: int = 200_000) -> int:
    """Pure-Python arithmetic holding the GIL (~10 ms)."""
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total + n


def counted_python_loop(counter: Any, n: int) -> int:
    """``python_loop``, counting each run in a shared ``Value`` (none lost, none repeated)."""
    with counter.get_lock():
        counter.value += 1
    return python_loop(n, 50_000)


def matrix_power(n: int, size: int = 300) -> float:
    """NumPy matrix products: computing with the GIL released."""
    import numpy as np

    matrix = np.full((size, size), 1.0 / size)
    for _ in range(4):
        matrix = matrix @ matrix
    return float(matrix[0, 0]) + n


def put_from_worker(item: Any) -> bool:
    """With ``set_state("queue", q)`` as the initializer: put ``item`` on that queue."""
    corepool.worker_state().queue.put(item)
    return True


def hold_lock_from_state(key: str) -> bool:
    """With ``set_state(key, lock)`` as the initializer: take that lock and let it go."""
    with getattr(corepool.worker_state(), key):
        return True


def held_by(gate: Any, value: Any = None) -> Any:
    """``wait_for``, under a name of its own: the tests that teach the pool how long it takes
    (``test_single_task_queueing``) are the only ones to call it."""
    return wait_for(gate, value)
