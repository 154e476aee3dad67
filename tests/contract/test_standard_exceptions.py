"""Code that catches the standard library's exceptions keeps catching them (issue 9 §2).

Each failure is caught the way a program written for ``multiprocessing`` / ``concurrent.futures``
catches it, and as corepool's own type.  What the standard library does in each case is in
``_wire/rebuild.py``'s table; CPython's own tests (``_test_multiprocessing``: test_traceback,
test_map_unplicklable, test_unpickleable_result; ``test_concurrent_futures``: test_deadlock,
test_traceback) check the same facts.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing.pool
import pickle
import sys
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest

import corepool
from support import faults, tasks

MaybeEncodingError: type[Exception] = multiprocessing.pool.MaybeEncodingError  # type: ignore[attr-defined]
PoolRemoteTraceback: type[Exception] = multiprocessing.pool.RemoteTraceback  # type: ignore[attr-defined]
FuturesRemoteTraceback: type[Exception] = concurrent.futures.process._RemoteTraceback


class RefusesToPickle:
    """Raises ``error`` when pickled."""

    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def __reduce__(self) -> tuple[Any, ...]:
        raise self.error("refuses to be pickled")


def _unpickle_error() -> None:
    raise pickle.UnpicklingError("refuses to be unpickled")


class RefusesToUnpickle:
    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpickle_error, ())


def return_refusing_to_unpickle(_: object = None) -> RefusesToUnpickle:
    return RefusesToUnpickle()


class ExitAtPickle:
    def __reduce__(self) -> tuple[Any, ...]:
        sys.exit(1)


def return_exiting_when_pickled(_: object = None) -> ExitAtPickle:
    return ExitAtPickle()


# ------------------------------------------------------------------- pickling the call


UNPICKLABLE_ARGUMENTS = [
    pytest.param(threading.Lock, TypeError, id="lock-TypeError"),
    pytest.param(lambda: RefusesToPickle(pickle.PicklingError), pickle.PicklingError, id="pickle"),
    pytest.param(lambda: RefusesToPickle(tasks.CustomError), tasks.CustomError, id="user-error"),
]


@pytest.mark.parametrize(("make", "expected"), UNPICKLABLE_ARGUMENTS)
def test_pool_argument_that_cannot_be_pickled(
    pool: corepool.Pool, backend: str, make: Callable[[], object], expected: type[Exception]
) -> None:
    if backend == "threads":
        assert pool.map(tasks.identity, [1]) == [1]  # nothing is pickled
        return
    calls: list[Callable[[], object]] = [
        lambda: pool.map(tasks.identity, [1, make(), 3]),
        lambda: pool.apply(tasks.identity, (make(),)),
        lambda: list(pool.imap(tasks.identity, [make()])),
        lambda: pool.starmap(tasks.add, [(1, make())]),
    ]
    for call in calls:
        with pytest.raises(expected) as caught:
            call()
        assert isinstance(caught.value, corepool.SerializationError)
        assert caught.value.stage == "pickling the call"
        assert "refuses to be pickled" in str(caught.value) or expected is TypeError
    assert pool.apply(tasks.square, (3,)) == 9


@pytest.mark.parametrize(("make", "expected"), UNPICKLABLE_ARGUMENTS)
def test_executor_argument_that_cannot_be_pickled(
    make_executor: Callable[..., Any],
    backend: str,
    make: Callable[[], object],
    expected: type[Exception],
) -> None:
    executor = make_executor()
    if backend == "threads":
        assert executor.submit(tasks.identity, 1).result(timeout=30) == 1
        return
    with pytest.raises(expected) as caught:
        executor.submit(tasks.identity, make()).result(timeout=30)
    assert isinstance(caught.value, corepool.SerializationError)
    with pytest.raises(expected):
        list(executor.map(tasks.identity, [make()], timeout=30))
    assert executor.submit(tasks.square, 3).result(timeout=30) == 9


# ------------------------------------------------------------------ pickling the result


def test_pool_result_that_cannot_be_pickled_is_a_maybe_encoding_error(
    pool: corepool.Pool, backend: str
) -> None:
    if backend == "threads":
        return  # nothing is pickled
    errors: list[BaseException] = []
    result = pool.apply_async(tasks.return_unpicklable, error_callback=errors.append)
    with pytest.raises(MaybeEncodingError) as caught:
        result.get(timeout=30)
    error = caught.value
    assert errors == [error]
    assert isinstance(error, TypeError)  # "cannot pickle '_thread.lock' object"
    assert isinstance(error, corepool.SerializationError)
    assert error.stage == "pickling the result"
    # The standard attributes and text: reprs of the pickling error and of the value.
    assert "_thread.lock" in error.exc  # type: ignore[attr-defined]
    assert "_thread.lock" in error.value  # type: ignore[attr-defined]
    assert str(error) == f"Error sending result: '{error.value}'. Reason: '{error.exc}'"  # type: ignore[attr-defined]
    assert type(error.__cause__) is PoolRemoteTraceback
    for call in (
        lambda: pool.map(tasks.return_unpicklable, range(3)),
        lambda: list(pool.imap(tasks.return_unpicklable, range(3))),
    ):
        with pytest.raises(MaybeEncodingError):
            call()
    assert pool.apply(tasks.square, (3,)) == 9


def test_executor_result_that_cannot_be_pickled_raises_the_pickling_error(
    make_executor: Callable[..., Any], backend: str
) -> None:
    executor = make_executor()
    if backend == "threads":
        return
    # As concurrent.futures' _sendback_result: the pickling error itself, the worker's traceback
    # as its cause; not a MaybeEncodingError (that is multiprocessing.Pool's).
    with pytest.raises(TypeError, match=r"_thread\.lock") as caught:
        executor.submit(tasks.return_unpicklable).result(timeout=30)
    assert isinstance(caught.value, corepool.SerializationError)
    assert not isinstance(caught.value, MaybeEncodingError)
    assert type(caught.value.__cause__) is FuturesRemoteTraceback
    with pytest.raises(TypeError):
        list(executor.map(tasks.return_unpicklable, range(2), timeout=30))


def test_system_exit_while_pickling_the_result(
    make_pool: Callable[..., corepool.Pool], make_executor: Callable[..., Any], backend: str
) -> None:
    if backend == "threads":
        return
    with pytest.raises(SystemExit):
        make_pool().apply(return_exiting_when_pickled)
    with pytest.raises(SystemExit) as caught:
        make_executor().submit(return_exiting_when_pickled).result(timeout=30)
    assert isinstance(caught.value, corepool.SerializationError)
    assert caught.value.code == 1


# ------------------------------------------------------------------------ unpickling


def test_unpickling_errors_keep_their_type(
    make_pool: Callable[..., corepool.Pool], make_executor: Callable[..., Any], backend: str
) -> None:
    if backend == "threads":
        return
    pool = make_pool()
    for call in (
        lambda: pool.apply(tasks.identity, (RefusesToUnpickle(),)),  # in the worker
        lambda: pool.apply(return_refusing_to_unpickle),  # in the parent
    ):
        with pytest.raises(pickle.UnpicklingError) as caught:
            call()
        assert isinstance(caught.value, corepool.SerializationError)
        assert not isinstance(caught.value, BrokenProcessPool)
    # The standard executor breaks then (test_deadlock expects BrokenProcessPool); corepool's
    # error is one too, and the executor stays usable.
    executor = make_executor()
    for future in (
        executor.submit(tasks.identity, RefusesToUnpickle()),
        executor.submit(return_refusing_to_unpickle),
    ):
        with pytest.raises(BrokenProcessPool) as broken:
            future.result(timeout=30)
        assert isinstance(broken.value, pickle.UnpicklingError)
        assert isinstance(broken.value, corepool.SerializationError)
    assert executor.submit(tasks.square, 4).result(timeout=30) == 16


# ------------------------------------------------------------------- the remote traceback


def test_the_cause_is_the_standard_remote_traceback(
    pool: corepool.Pool, make_executor: Callable[..., Any], backend: str
) -> None:
    with pytest.raises(ValueError, match="bad value 7") as from_pool:
        pool.apply(tasks.raise_value_error, (7,))
    with pytest.raises(ValueError, match="bad value 8") as from_executor:
        make_executor().submit(tasks.raise_value_error, 8).result(timeout=30)
    if backend == "threads":
        # As the standard ThreadPool: the exception itself, not wrapped.
        assert from_pool.value.__cause__ is None
        return
    for caught, standard in (
        (from_pool, PoolRemoteTraceback),
        (from_executor, FuturesRemoteTraceback),
    ):
        cause = caught.value.__cause__
        assert type(cause) is standard
        assert isinstance(cause, corepool.RemoteTraceback)
        text = cause.tb  # type: ignore[union-attr]
        assert text.startswith('\n"""\nTraceback (most recent call last):')
        assert text.endswith('"""')
        assert "raise_value_error" in text
        assert str(cause) == text


# ------------------------------------------------------------------------- lost workers


def test_a_lost_worker_is_a_broken_process_pool(
    make_executor: Callable[..., Any], make_pool: Callable[..., corepool.Pool], backend: str
) -> None:
    if backend == "threads":
        return
    executor = make_executor()
    with pytest.raises(BrokenProcessPool) as caught:
        executor.submit(faults.run_fault, "crash").result(timeout=30)
    assert isinstance(caught.value, corepool.WorkerLostError)
    with pytest.raises(BrokenProcessPool):
        list(executor.map(faults.crash_on, range(4), [2] * 4, timeout=30))
    # Unlike the standard executor, this one stays usable.
    assert executor.submit(tasks.square, 5).result(timeout=30) == 25
    pool = make_pool()
    with pytest.raises(corepool.WorkerLostError):  # a Pool user's except is unaffected
        pool.apply(faults.run_fault, ("exit",))
    assert pool.apply(tasks.square, (2,)) == 4


def test_class_hierarchy() -> None:
    assert issubclass(corepool.WorkerLostError, BrokenProcessPool)
    assert issubclass(corepool.WorkerLostError, concurrent.futures.BrokenExecutor)
    assert issubclass(corepool.WorkerLostError, RuntimeError)
    assert issubclass(corepool.WorkerStartError, BrokenProcessPool)
    assert issubclass(corepool.InitializerError, BrokenProcessPool)
    assert issubclass(corepool.InitializerError, concurrent.futures.thread.BrokenThreadPool)
    assert issubclass(corepool.TaskTimeoutError, TimeoutError)  # = futures.TimeoutError on 3.11+
    assert issubclass(corepool.TaskCancelledError, concurrent.futures.CancelledError)
    for kind in (
        corepool.WorkerLostError,
        corepool.WorkerStartError,
        corepool.InitializerError,
        corepool.TaskTimeoutError,
        corepool.TaskCancelledError,
        corepool.SerializationError,
    ):
        assert issubclass(kind, corepool.CorepoolError)


def test_combined_errors_pickle_and_keep_their_attributes() -> None:
    from corepool._wire.combined_errors import serialization_error

    original = tasks.CustomError("boom")
    original.extra = 42  # type: ignore[attr-defined]
    error = serialization_error(original, "pickling the call", "CustomError: boom")
    again = pickle.loads(pickle.dumps(error))
    for made in (error, again):
        assert isinstance(made, tasks.CustomError)
        assert isinstance(made, corepool.SerializationError)
        assert made.args == ("boom",)
        assert made.extra == 42  # type: ignore[attr-defined]
        assert made.stage == "pickling the call"
        assert type(made).__name__ == "SerializationError"
    assert type(again) is type(error)  # one class per combination
    assert serialization_error(SystemExit(3), "s", "d").code == 3  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------ sizes


@pytest.mark.parametrize("processes", [0, -1])
def test_pool_size_messages(backend: str, processes: int) -> None:
    with pytest.raises(ValueError, match=r"^Number of processes must be at least 1$"):
        corepool.Pool(processes, backend=backend)


@pytest.mark.parametrize("maxtasks", [0, -1, 0.5, "12"])
def test_pool_maxtasksperchild_messages(backend: str, maxtasks: object) -> None:
    with pytest.raises(ValueError, match=r"^maxtasksperchild must be a positive int or None$"):
        corepool.Pool(1, maxtasksperchild=maxtasks, backend=backend)  # type: ignore[arg-type]


@pytest.mark.parametrize("max_workers", [0, -1])
def test_executor_size_messages(backend: str, max_workers: int) -> None:
    kind = corepool.ProcessPoolExecutor if backend == "processes" else corepool.ThreadPoolExecutor
    with pytest.raises(ValueError, match=r"^max_workers must be greater than 0$"):
        kind(max_workers)


def test_max_tasks_per_child_messages() -> None:
    with pytest.raises(ValueError, match=r"^max_tasks_per_child must be >= 1$"):
        corepool.ProcessPoolExecutor(1, max_tasks_per_child=0)
    with pytest.raises(TypeError, match=r"^max_tasks_per_child must be an integer$"):
        corepool.ProcessPoolExecutor(1, max_tasks_per_child="3")  # type: ignore[arg-type]


@pytest.mark.parametrize("context", ["fork", multiprocessing.get_context("fork")])
def test_max_tasks_per_child_with_a_fork_context_is_refused(context: object) -> None:
    with pytest.raises(ValueError, match=r"incompatible with the 'fork' multiprocessing"):
        corepool.ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=3)  # type: ignore[arg-type]
    with corepool.ProcessPoolExecutor(1, mp_context="spawn", max_tasks_per_child=3) as executor:
        assert executor.submit(abs, -3).result(timeout=60) == 3
