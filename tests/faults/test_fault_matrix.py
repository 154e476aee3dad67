"""The crash matrix: every kind of failure at every stage of a task's trip, on worker processes.

Each case checks the error the caller gets, and that the pool still works afterwards.
Faults in the parent's own stages (pickling the call, unpickling the result) that kill the parent
run in a child program, and check that its workers do not outlive it.
"""

from __future__ import annotations

import multiprocessing.pool
import signal
import threading
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool

import pytest

import corepool
from support import faults, tasks
from support.processes import read_worker_pids, start_program, wait_gone
from support.waiting import wait_until

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 1.0


@pytest.fixture
def pool() -> Iterator[corepool.Pool]:
    with corepool.Pool(2) as started:
        yield started


def _still_works(pool: corepool.Pool) -> None:
    assert pool.apply(tasks.square, (3,)) == 9
    assert pool.map(tasks.square, range(20)) == [x * x for x in range(20)]


def _lost(error: BaseException, exitcode: int, stage: str, function: str) -> None:
    assert isinstance(error, corepool.WorkerLostError), repr(error)
    assert isinstance(error, BrokenProcessPool)
    assert error.exitcode == exitcode
    assert error.pid is not None and error.pid > 0
    assert function in error.task
    assert error.stage == stage
    assert stage in str(error)
    if exitcode < 0:
        assert error.signal_name == signal.Signals(-exitcode).name
        assert error.signal_name in str(error)


WORKER_STAGE_CALLS = {
    "unpickling the call": lambda pool, kind, **kw: pool.apply_async(
        faults.take, (faults.FailsWhenUnpickled(kind),), **kw
    ),
    "running": lambda pool, kind, **kw: pool.apply_async(faults.run_fault, (kind,), **kw),
    "pickling the result": lambda pool, kind, **kw: pool.apply_async(
        faults.return_failing_to_pickle, (kind,), **kw
    ),
}
FUNCTION = {
    "unpickling the call": "take",
    "running": "run_fault",
    "pickling the result": "return_failing_to_pickle",
}


@pytest.mark.parametrize("stage", list(WORKER_STAGE_CALLS))
@pytest.mark.parametrize("kind", faults.KINDS)
def test_worker_side_stages(pool: corepool.Pool, stage: str, kind: str) -> None:
    result = WORKER_STAGE_CALLS[stage](pool, kind, timeout=TIMEOUT if kind == "hang" else None)
    with pytest.raises(BaseException) as caught:
        result.get(timeout=30)
    error = caught.value
    if kind == "crash":
        _lost(error, -signal.SIGSEGV, stage, FUNCTION[stage])
    elif kind == "exit":
        _lost(error, faults.EXIT_CODE, stage, FUNCTION[stage])
    elif kind == "hang":
        assert isinstance(error, corepool.TaskTimeoutError), repr(error)
        assert isinstance(error, TimeoutError)
        assert error.timeout == TIMEOUT
    elif stage == "running":
        assert isinstance(error, faults.InjectedError)
        assert type(error.__cause__) is multiprocessing.pool.RemoteTraceback  # type: ignore[attr-defined]
        assert isinstance(error.__cause__, corepool.RemoteTraceback)
    else:
        assert isinstance(error, corepool.SerializationError), repr(error)
        assert isinstance(error, faults.InjectedError)  # the original type, too
        assert error.stage == stage
        assert isinstance(error.__cause__, corepool.RemoteTraceback)
        assert "InjectedError: injected exception" in str(error.__cause__)
    _still_works(pool)


def test_exception_while_pickling_the_call(pool: corepool.Pool) -> None:
    with pytest.raises(corepool.SerializationError) as caught:
        pool.apply(faults.take, (faults.FailsWhenPickled("exception"),))
    assert caught.value.stage == "pickling the call"
    assert isinstance(caught.value, faults.InjectedError)
    assert isinstance(caught.value.__cause__, faults.InjectedError)
    _still_works(pool)


def test_exception_while_unpickling_the_result(pool: corepool.Pool) -> None:
    with pytest.raises(corepool.SerializationError) as caught:
        pool.apply(faults.return_failing_to_unpickle, ("exception",))
    assert caught.value.stage == "unpickling the result"
    assert isinstance(caught.value, faults.InjectedError)
    assert isinstance(caught.value.__cause__, faults.InjectedError)
    _still_works(pool)


def test_hang_while_pickling_the_call_blocks_only_that_caller(pool: corepool.Pool) -> None:
    # Pickling happens in the caller's thread: a hang there holds that caller, nobody else.
    faults.parent_hang_release.clear()
    outcome: list[object] = []
    caller = threading.Thread(
        target=lambda: outcome.append(pool.apply(faults.take, (faults.FailsWhenPickled("hang"),)))
    )
    caller.start()
    try:
        _still_works(pool)
        assert outcome == []
    finally:
        faults.parent_hang_release.set()
    caller.join(30)
    assert outcome == ["received"]


def test_hang_while_unpickling_the_result_holds_the_results_thread_not_workers(
    pool: corepool.Pool,
) -> None:
    # A result whose unpickling runs code is unpickled on the pool's results thread; one that
    # hangs there holds what goes through that thread after it (callbacks, such results), while
    # the workers keep working and the plain results of calls without a callback still arrive:
    # the dispatcher delivers those itself (documented in docs/faults.md).
    faults.parent_hang_release.clear()
    faults.parent_hang_entered.clear()
    squares = [x * x for x in range(10)]
    try:
        stuck = pool.apply_async(faults.return_failing_to_unpickle, ("hang",))
        assert faults.parent_hang_entered.wait(30)
        plain = pool.map_async(tasks.square, range(10))
        called_back = pool.map_async(tasks.square, range(10), callback=lambda _: None)
        wait_until(lambda: pool.statistics().tasks_done >= 21, what="the workers to finish")
        assert plain.get(timeout=30) == squares
        with pytest.raises(corepool.TimeoutError):
            called_back.get(timeout=0.1)
    finally:
        faults.parent_hang_release.set()
    assert isinstance(stuck.get(timeout=30), faults.FailsWhenUnpickled)
    assert called_back.get(timeout=30) == squares


PARENT_FATAL = {
    "pickling the call": "pool.apply(faults.take, (faults.FailsWhenPickled({kind!r}),))",
    "unpickling the result": "pool.apply(faults.return_failing_to_unpickle, ({kind!r},))",
}


@pytest.mark.parametrize("stage", list(PARENT_FATAL))
@pytest.mark.parametrize("kind", ["crash", "exit"])
def test_fatal_fault_in_the_parent_leaves_no_orphans(stage: str, kind: str) -> None:
    program = start_program(
        f"""
        with corepool.Pool(2) as pool:
            pool.map(tasks.square, range(4), chunksize=1)
            report_workers(pool)
            {PARENT_FATAL[stage].format(kind=kind)}
        """
    )
    pids = read_worker_pids(program)
    returncode = program.wait(30)
    program.communicate()
    assert returncode == (-signal.SIGSEGV if kind == "crash" else faults.EXIT_CODE)
    wait_gone(pids, timeout=2.0)
