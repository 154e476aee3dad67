"""The gate that keeps ``sys._current_frames()`` from running while subinterpreters run code:
a call waits for running interpreters, interpreters arriving later wait behind a waiting call,
and a call that would wait too long fails with a message instead."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from corepool._backends import frames_guard
from corepool._backends.frames_guard import _Gate

pytestmark = pytest.mark.timeout(30)


def test_a_call_waits_until_no_interpreter_runs_code() -> None:
    gate, events = _Gate(), []
    entered = threading.Event()

    def interpreter() -> None:
        with gate.running():
            entered.set()
            time.sleep(0.2)
            events.append("interpreter done")

    thread = threading.Thread(target=interpreter)
    thread.start()
    entered.wait()
    with gate.quiet("_current_frames", timeout=10):
        events.append("call")
    thread.join()
    assert events == ["interpreter done", "call"]


def test_interpreters_arriving_after_a_waiting_call_go_after_it() -> None:
    gate, events = _Gate(), []
    first_in, call_waiting = threading.Event(), threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with gate.running():
            first_in.set()
            release_first.wait()

    def call() -> None:
        call_waiting.set()
        with gate.quiet("_current_frames", timeout=10):
            events.append("call")

    def second() -> None:
        with gate.running():
            events.append("second interpreter")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    first_in.wait()
    threads.append(threading.Thread(target=call))
    threads[1].start()
    call_waiting.wait()
    while not gate._callers_waiting:  # the call is inside the gate, waiting
        time.sleep(0.001)
    threads.append(threading.Thread(target=second))
    threads[2].start()
    time.sleep(0.1)
    assert events == []  # the second interpreter waits behind the call
    release_first.set()
    for thread in threads:
        thread.join()
    assert events == ["call", "second interpreter"]


def test_a_call_that_would_wait_too_long_says_why_and_lets_interpreters_on() -> None:
    gate = _Gate()
    inside, leave = threading.Event(), threading.Event()

    def interpreter() -> None:
        with gate.running():
            inside.set()
            leave.wait()

    thread = threading.Thread(target=interpreter)
    thread.start()
    inside.wait()
    refused = pytest.raises(RuntimeError, match=r"sys\._current_frames\(\) was not called.*CPython")
    with refused, gate.quiet("_current_frames", timeout=0.1):
        pass
    with gate.running():  # a failed call leaves nothing waiting behind it
        pass
    leave.set()
    thread.join()


def test_install_wraps_each_function_once_and_keeps_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Unguarded, whatever ran before (a pool of interpreters guards them for the process).
    original = getattr(sys._current_frames, "__wrapped__", sys._current_frames)
    monkeypatch.setattr(sys, "_current_frames", original)
    if hasattr(sys, "_current_exceptions"):
        exceptions = sys._current_exceptions
        monkeypatch.setattr(
            sys, "_current_exceptions", getattr(exceptions, "__wrapped__", exceptions)
        )
    frames_guard.install()
    guarded = sys._current_frames
    frames_guard.install()
    assert sys._current_frames is guarded is not original
    assert threading.get_ident() in guarded()
