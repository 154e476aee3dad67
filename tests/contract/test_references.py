"""The pool keeps no reference to a finished call's arguments, results or futures, as the standard
library's pools do not: large objects are freed as soon as the caller lets go of them."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import corepool
from support import tasks
from support.waiting import wait_until


def all_freed(refs: list[weakref.ref[Any]]) -> bool:
    gc.collect()
    return all(ref() is None for ref in refs)


def test_map_keeps_no_arguments_or_results(pool: corepool.Pool) -> None:
    arguments = [tasks.Payload(index) for index in range(20)]
    results = pool.map(tasks.identity, arguments)
    assert [result.value for result in results] == list(range(20))
    refs = [weakref.ref(value) for value in [*arguments, *results]]
    del arguments, results
    wait_until(lambda: all_freed(refs), what="the map's arguments and results to be freed")


def test_imap_and_apply_keep_no_arguments_or_results(pool: corepool.Pool) -> None:
    arguments = [tasks.Payload(index) for index in range(5)]
    results = [*pool.imap(tasks.identity, arguments), pool.apply(tasks.identity, (arguments[0],))]
    refs = [weakref.ref(value) for value in [*arguments, *results]]
    del arguments, results
    wait_until(lambda: all_freed(refs), what="the calls' arguments and results to be freed")


def test_an_executor_keeps_no_future_argument_or_result(
    make_executor: Callable[..., Any],
) -> None:
    executor = make_executor()
    argument = tasks.Payload(7)
    future = executor.submit(tasks.identity, argument)
    result = future.result(timeout=30)
    assert result.value == 7
    refs = [weakref.ref(argument), weakref.ref(result), weakref.ref(future)]
    del argument, result, future
    wait_until(lambda: all_freed(refs), what="the future, its argument and its result")


def test_a_value_handed_out_by_a_stream_is_not_kept(make_executor: Callable[..., Any]) -> None:
    executor = make_executor()
    for value in executor.map(tasks.Payload, range(10)):
        ref = weakref.ref(value)
        del value
        wait_until(lambda: all_freed([ref]), what="the value the loop let go of")  # noqa: B023
