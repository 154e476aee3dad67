"""``mypy --strict`` on a user program sees corepool's real types: generic queues
(``corepool.Queue[int]``), ``Value``/``Array`` typed by their ctypes type, typed Manager objects,
threading's spellings on locks and semaphores."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import corepool

SOURCE = Path(corepool.__file__).resolve().parent.parent
PROGRAM = """\
import ctypes
import queue

import corepool

numbers: corepool.Queue[int] = corepool.Queue()
numbers.put(1)
total: int = numbers.get() + 1
jobs = corepool.JoinableQueue[str]()
jobs.put("a")
jobs.task_done()
reveal_type(corepool.SimpleQueue[bytes]().get())
counter = corepool.Value(ctypes.c_int, 0)
reveal_type(counter)
counter.value += 1
with counter.get_lock():
    pass
raw = corepool.Value(ctypes.c_double, 1.0, lock=False)
reveal_type(raw)
cells = corepool.Array(ctypes.c_double, 4)
reveal_type(cells[0])
reveal_type(cells[1:3])
text = corepool.Array(ctypes.c_char, 8)
reveal_type(text)
with corepool.Manager() as manager:
    shared = manager.dict()
    reveal_type(shared)
    reveal_type(manager.Queue())
    reveal_type(manager.Lock())
    reveal_type(manager.list([1]))
lock = corepool.Lock()
held: bool = lock.acquire(blocking=True, timeout=1.0) and lock.locked()
corepool.Semaphore(2).release(2)
numbers.put("not an int")
try:
    numbers.get_nowait()
except queue.Empty:
    pass
"""

EXPECTED = {
    12: 'Revealed type is "bytes"',
    14: 'Revealed type is "corepool.sync.sharedctypes.Synchronized[int]"',
    19: 'Revealed type is "ctypes.c_double"',
    21: 'Revealed type is "float"',
    22: 'Revealed type is "list[float]"',
    24: 'Revealed type is "corepool.sync.sharedctypes.SynchronizedString"',
    27: 'Revealed type is "corepool.shared.shared_dict.Dict[Any, Any]"',
    28: 'Revealed type is "corepool.sync.queues.JoinableQueue[Any]"',
    29: 'Revealed type is "corepool.sync.locks.Lock"',
    30: 'Revealed type is "corepool.shared.shared_list.List[Any]"',
    34: 'Argument 1 to "put" of "Queue" has incompatible type "str"; expected "int"',
}


def test_generic_queues_work_at_run_time() -> None:
    numbers = corepool.Queue[int]()
    numbers.put(1)
    assert numbers.get(timeout=5) == 1
    assert corepool.PriorityQueue[tuple[int, str]].__origin__ is corepool.PriorityQueue  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_mypy_strict_sees_real_types_in_a_user_program(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed: the static half of corepool's typing is unchecked")
    (tmp_path / "user_program.py").write_text(PROGRAM)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "user_program.py"],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(SOURCE)},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    # Only the program's lines: corepool itself is checked by the project's own mypy run.
    found = {}
    for line in checked.stdout.splitlines():
        if line.startswith("user_program.py:"):
            _, number, _, message = line.split(":", 3)
            found[int(number)] = message.strip().rsplit("  [", 1)[0]
    assert found == EXPECTED, checked.stdout[-3000:]
