"""The results thread runs what the dispatcher posts, in order, off the loop thread; where no
thread can start any more (the interpreter is shutting down), it runs it on the posting thread
rather than leave a caller waiting forever."""

from __future__ import annotations

import threading

import pytest

from corepool._engine.results_thread import ResultsThread

pytestmark = pytest.mark.timeout(20)


def test_what_was_posted_before_the_start_runs_in_order_on_the_thread() -> None:
    results = ResultsThread()
    seen: list[tuple[int, str]] = []
    for index in range(3):
        results.post(lambda i: seen.append((i, threading.current_thread().name)), index)
    results.start()
    results.stop()
    assert seen == [(0, "corepool-results"), (1, "corepool-results"), (2, "corepool-results")]


def test_without_a_thread_posted_work_runs_on_the_posting_thread_in_order() -> None:
    results = ResultsThread()

    def refuse() -> None:
        raise RuntimeError("can't create new thread at interpreter shutdown")

    results._thread.start = refuse  # type: ignore[method-assign]
    seen: list[tuple[int, str]] = []
    here = threading.current_thread().name
    results.post(lambda: seen.append((0, threading.current_thread().name)))
    results.post(lambda: 1 / 0)  # a failing callback is logged, the next one still runs
    results.start()
    results.post(lambda: seen.append((1, threading.current_thread().name)))
    results.stop()  # nothing to wait for
    assert seen == [(0, here), (1, here)]
