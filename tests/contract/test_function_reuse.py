"""A loop of single tasks of one function packs the function once, and each worker loads it once.

``apply_async`` and ``submit`` make a job per task.  A plain function that travels by reference
pickles to its module and name, the same bytes for every task as long as its module still holds
it under that name and its code is unchanged: the jobs share one payload, and a worker that
loaded it keeps it.  A function that travels by value (a closure, a lambda, a function a
worker's ``__main__`` lacks) carries its closure and globals as they are when it is submitted,
so it is packed for every task, and a change between two tasks shows.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import corepool
from corepool._backends import pickled_calls, process_worker
from corepool._wire.messages import FunctionDef
from support import tasks
from support.processes import python_output

pytestmark = pytest.mark.timeout(120)


class Counts:
    def __init__(self) -> None:
        self.packed = 0
        self.sent_with_code: list[int] = []


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    """How often a function was pickled, and which tokens went to a worker as a definition."""
    seen = Counts()
    pack = pickled_calls.pack_function
    function_for = process_worker.ProcessWorker._function_for

    def counting_pack(*args: Any, **kwargs: Any) -> None:
        seen.packed += 1
        pack(*args, **kwargs)

    def recording_function_for(self: Any, job: Any) -> Any:
        function, forget = function_for(self, job)
        if isinstance(function, FunctionDef):
            seen.sent_with_code.append(function.token)
        return function, forget

    monkeypatch.setattr(pickled_calls, "pack_function", counting_pack)
    monkeypatch.setattr(process_worker.ProcessWorker, "_function_for", recording_function_for)
    yield seen


def test_an_apply_async_loop_packs_its_function_once(counts: Counts) -> None:
    with corepool.Pool(2) as pool:
        pending = [pool.apply_async(tasks.square, (index,)) for index in range(60)]
        assert [result.get(timeout=30) for result in pending] == [i * i for i in range(60)]
    assert counts.packed == 1
    # One definition per worker at most, then the token alone.
    assert len(counts.sent_with_code) <= 2
    assert len(set(counts.sent_with_code)) == 1


def test_a_submit_loop_packs_its_function_once(counts: Counts) -> None:
    with corepool.ProcessPoolExecutor(2) as executor:
        futures = [executor.submit(tasks.square, index) for index in range(60)]
        assert [future.result(timeout=30) for future in futures] == [i * i for i in range(60)]
    assert counts.packed == 1
    assert len(counts.sent_with_code) <= 2


def test_each_pool_packs_for_its_own_workers(counts: Counts) -> None:
    for _ in range(2):
        with corepool.Pool(1) as pool:
            assert [pool.apply(tasks.square, (3,)) for _ in range(5)] == [9] * 5
    assert counts.packed == 2


def test_a_closure_is_packed_for_every_task_and_sees_its_cells_change(counts: Counts) -> None:
    factor = 2

    def scaled(x: int) -> int:
        return x * factor

    with corepool.Pool(1) as pool:
        before = pool.apply(scaled, (3,))
        factor = 5
        after = pool.apply(scaled, (3,))
    assert (before, after) == (6, 15)
    assert counts.packed == 2
    assert len(set(counts.sent_with_code)) == 2


def test_a_lambda_submitted_in_a_loop_runs_each_time(counts: Counts) -> None:
    with corepool.ProcessPoolExecutor(2) as executor:
        futures = [executor.submit(lambda x: x + 1, index) for index in range(10)]
        assert [future.result(timeout=30) for future in futures] == list(range(1, 11))
    assert counts.packed == 10


# A function of ``__main__`` that the zygote's copy holds goes by name and fingerprint; the jobs
# share that payload only while the function keeps the code it was packed with, and while
# ``__main__`` still holds it under its name.
PROGRAM = textwrap.dedent(
    """
    import corepool

    def top(x):
        return x + 100

    def other(x):
        return x - 100

    with corepool.Pool(1) as pool:
        first = [pool.apply(top, (1,)) for _ in range(3)]
        top.__code__ = other.__code__  # the same object, another body
        second = pool.apply(top, (1,))
        original = top
        def top(x):  # __main__'s name now holds another function
            return x * 1000
        third = pool.apply(original, (1,)), pool.apply(top, (1,))
        print(first, second, third)
    """
)


def test_a_main_function_whose_code_changed_runs_its_new_code(tmp_path: Path) -> None:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    assert python_output([str(script)]) == "[101, 101, 101] -99 (-99, 1000)"
