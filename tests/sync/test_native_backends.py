"""The two native backends (the C extension ``_robust`` and the ctypes fallback) behave alike.

The backend is chosen once per process, at import (``COREPOOL_SYNC_NATIVE``), so this file
(1) drives the raw mutex calls of both backends side by side in this process, (2) runs the lock,
semaphore, condition and event suites again in a child process on the backend this process does
not use, and (3) shares one lock between processes on different backends.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import pickle
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import corepool
import corepool.sync
from corepool.errors import HolderDiedError
from corepool.shared.memory import Segment
from corepool.sync import _ctypes_calls, _native

HERE = Path(__file__).parent
VARIABLE = _native.ENVIRONMENT_VARIABLE
EXTENSION_BUILT = importlib.util.find_spec("corepool.sync._robust") is not None
OTHER_BACKEND = "ctypes" if _native.BACKEND == "c" else "c"
NOT_BUILT = (
    "corepool.sync._robust was not built (no C compiler or Python headers at install time): "
    "the ctypes backend is all there is to test, and test_the_extension_is_built_where_it_can_be "
    "fails if a compiler was there"
)
needs_extension = pytest.mark.skipif(not EXTENSION_BUILT, reason=NOT_BUILT)


class Calls:
    """One backend's raw calls on one fresh mutex."""

    def __init__(self, module: ModuleType, handle: Callable[[int], Any]) -> None:
        self.module = module
        self.segment = Segment.create(_native.MUTEX_BYTES)
        module.init(self.segment.address)
        self.mutex = handle(self.segment.address)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        function = getattr(self.module, name)
        return lambda *args: function(self.mutex, *args)


@pytest.fixture(params=["c", "ctypes"])
def calls(request: pytest.FixtureRequest) -> Iterator[Calls]:
    if request.param == "ctypes":
        made = Calls(_ctypes_calls, _ctypes_calls.mutex_handle)
    elif EXTENSION_BUILT:
        from corepool.sync import _robust

        made = Calls(_robust, int)
    else:
        pytest.skip(NOT_BUILT)
    yield made
    made.segment.close()


def in_thread(function: Callable[[], object]) -> object:
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(function()))
    thread.start()
    thread.join(30)
    return outcome[0]


def test_the_extension_is_used_unless_the_fallback_is_asked_for() -> None:
    requested = os.environ.get(VARIABLE, "auto")
    expected = "c" if requested == "c" or (requested == "auto" and EXTENSION_BUILT) else "ctypes"
    assert corepool.sync.native_backend() == expected
    if expected == "c":
        assert type(corepool.Lock().acquire).__name__ == "builtin_function_or_method"


def test_the_extension_is_built_where_it_can_be() -> None:
    # ``optional = true`` turns a failed compilation into a warning nobody reads; here it fails.
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not headers.exists() or shutil.which(compiler) is None:
        pytest.skip("no C compiler or no Python headers: the ctypes fallback is expected")
    assert EXTENSION_BUILT, "a compiler is here but corepool.sync._robust was not built"
    from corepool.sync import _robust

    assert _robust.API == _native.EXTENSION_API, "a stale build of _robust: pip install -e ."


@needs_extension
def test_the_extension_knows_the_layouts_of_the_python_code() -> None:
    from corepool.sync import _monitor, _robust, event, semaphores

    assert _robust.EVENT_LAYOUT == (event._FLAG, event._WAKE, event._SLEEPERS)
    assert _robust.SEMAPHORE_LAYOUT == (
        _monitor.FIRST_FIELD,
        (_monitor.SNAPSHOT - _monitor.JOURNAL) // 2,
        _monitor.SNAPSHOT_WORDS,
        semaphores._VALUE,
        semaphores._BOUND,
        semaphores._POLICY,
        semaphores._WAKE,
        semaphores._SLEEPERS,
        semaphores._ROWS,
        semaphores._ROW_COUNT,
    )


def test_a_mutex_answers_free_mine_busy_and_not_yours(calls: Calls) -> None:
    assert calls.trylock() == 0
    assert calls.trylock() == errno.EDEADLK  # error-checking: this thread holds it
    assert calls.lock(None) == errno.EDEADLK
    assert in_thread(calls.trylock) == errno.EBUSY
    assert in_thread(calls.unlock) == errno.EPERM
    assert calls.unlock() == 0
    assert in_thread(calls.trylock) == 0  # and that thread ended holding it:
    assert calls.lock(time.monotonic() + 30) == errno.EOWNERDEAD
    assert calls.consistent() == 0
    assert calls.unlock() == 0
    assert calls.trylock() == 0
    assert calls.unlock() == 0


def test_a_wait_ends_at_its_deadline_or_when_the_holder_lets_go(calls: Calls) -> None:
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        assert calls.trylock() == 0
        holding.set()
        release.wait(30)
        assert calls.unlock() == 0

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    assert calls.lock(time.monotonic()) == errno.ETIMEDOUT
    assert calls.lock(time.monotonic() + 0.02) == errno.ETIMEDOUT
    release.set()
    assert calls.lock(time.monotonic() + 30) == 0
    holder.join(30)
    assert calls.unlock() == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_lock_suites_pass_on_the_other_backend() -> None:
    if OTHER_BACKEND == "c" and not EXTENSION_BUILT:
        pytest.skip(NOT_BUILT)
    suites = [
        "test_locks.py",
        "test_semaphores.py",
        "test_events_conditions.py",
        "test_threading_spellings.py",
    ]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [str(HERE / suite) for suite in suites]
    command.append(
        f"{__file__}::{test_the_extension_is_used_unless_the_fallback_is_asked_for.__name__}"
    )
    child = subprocess.run(
        command,
        env={**os.environ, VARIABLE: OTHER_BACKEND},
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert child.returncode == 0, child.stdout[-3000:] + child.stderr[-3000:]
    assert " passed" in child.stdout and "skipped" not in child.stdout


def hold_on_the_other_backend(lock: Any) -> subprocess.Popen[bytes]:
    """A child process on the other backend that takes ``lock`` (or a unit) and says so."""
    code = (
        "import pickle, sys, threading; from corepool.sync import _native; "
        "lock = pickle.loads(sys.stdin.buffer.read()); "
        "print(_native.BACKEND, lock.acquire(timeout=30), flush=True); "
        "threading.Event().wait(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, VARIABLE: OTHER_BACKEND},
    )
    assert child.stdin is not None
    child.stdin.write(pickle.dumps(lock))
    child.stdin.close()
    return child


@needs_extension
@pytest.mark.parametrize("kind", ["Lock", "RLock"])
def test_processes_on_different_backends_share_a_lock_and_its_holder(kind: str) -> None:
    lock = getattr(corepool, kind)()
    child = hold_on_the_other_backend(lock)
    assert child.stdout is not None
    assert child.stdout.readline().split() == [OTHER_BACKEND.encode(), b"True"]
    assert lock.acquire(False) is False
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    with pytest.raises(HolderDiedError) as died:
        lock.acquire(timeout=30)
    assert died.value.pid == child.pid  # the holder's pid, written by the other backend
    with lock:
        assert lock._is_owned()


@needs_extension
@pytest.mark.parametrize("kind", ["Semaphore", "BoundedSemaphore"])
def test_processes_on_different_backends_share_a_semaphore_and_its_holder_table(
    kind: str,
) -> None:
    semaphore = getattr(corepool, kind)(1)
    child = hold_on_the_other_backend(semaphore)
    assert child.stdout is not None
    assert child.stdout.readline().split() == [OTHER_BACKEND.encode(), b"True"]
    assert semaphore.acquire(False) is False
    os.kill(child.pid, signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    with pytest.raises(HolderDiedError) as died:
        semaphore.acquire(timeout=30)
    assert died.value.pid == child.pid  # found in the row the other backend wrote
    with semaphore:
        assert semaphore.get_value() == 0
    assert semaphore.get_value() == 1


def test_an_unknown_backend_name_is_refused_with_the_choices() -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import corepool; corepool.Lock()"],
        env={**os.environ, VARIABLE: "fast"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode != 0
    assert f"{VARIABLE}='fast'" in child.stderr and "ctypes" in child.stderr
