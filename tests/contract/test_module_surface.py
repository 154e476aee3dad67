"""``import corepool as multiprocessing`` and ``import corepool as concurrent`` run real programs.

Every public name of ``multiprocessing`` exists on corepool (or says at once where to find it),
``corepool.futures`` carries everything ``concurrent.futures`` exports, and the start-method
functions follow the standard library's rules; a method the program sets is the one its pools,
executors and processes start with (proved in a subprocess, from inside the workers).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.context
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

import corepool
import corepool.futures
from corepool._lifecycle.start_method import resolve_context

START_METHODS = ("fork", "forkserver", "spawn")


def test_every_public_name_of_multiprocessing_exists_or_says_where_it_is() -> None:
    for name in dir(multiprocessing):
        if name.startswith("_") or name == "sys":
            continue
        try:
            assert getattr(corepool, name) is not None
        except AttributeError as error:
            assert f"multiprocessing.{name}" in str(error), name


def test_the_standard_library_s_own_where_corepool_has_nothing_to_add() -> None:
    for name in ("ProcessError", "AuthenticationError", "BufferTooShort", "TimeoutError"):
        assert getattr(corepool, name) is getattr(multiprocessing, name)
    for name in ("freeze_support", "log_to_stderr", "get_logger", "set_executable"):
        assert callable(getattr(corepool, name))
    reader, writer = corepool.Pipe(duplex=False)
    writer.send("through the pipe")
    assert reader.recv() == "through the pipe"
    assert corepool.get_logger() is multiprocessing.get_logger()


def test_corepool_futures_exports_what_concurrent_futures_does() -> None:
    names = set(concurrent.futures.__all__) | {"BrokenProcessPool", "BrokenThreadPool"}
    for name in names:
        ours = getattr(corepool.futures, name)
        if name in ("ProcessPoolExecutor", "ThreadPoolExecutor"):
            assert ours is getattr(corepool, name)
        elif name == "BrokenProcessPool":
            assert ours is concurrent.futures.process.BrokenProcessPool
        elif name == "BrokenThreadPool":
            assert ours is concurrent.futures.thread.BrokenThreadPool
        else:
            assert ours is getattr(concurrent.futures, name), name
    assert set(corepool.futures.__all__) >= names


@pytest.fixture
def start_method_unset() -> Iterator[None]:
    """Nothing chosen, before and after (the standard library's own choice is restored too)."""
    default = multiprocessing.context._default_context
    saved = default._actual_context  # type: ignore[attr-defined]
    corepool.set_start_method(None, force=True)
    yield
    corepool.set_start_method(None, force=True)
    default._actual_context = saved  # type: ignore[attr-defined]


@pytest.mark.usefixtures("start_method_unset")
def test_set_and_get_start_method_follow_the_standard_rules() -> None:
    assert corepool.get_start_method(allow_none=True) is None
    assert corepool.get_start_method() == "forkserver"  # corepool's default, now fixed
    with pytest.raises(RuntimeError, match="context has already been set"):
        corepool.set_start_method("spawn")
    corepool.set_start_method("spawn", force=True)
    assert corepool.get_start_method() == "spawn"
    assert multiprocessing.get_start_method() == "spawn"  # code using multiprocessing agrees
    with pytest.raises(ValueError, match="cannot find context"):
        corepool.set_start_method("teleport", force=True)
    assert corepool.get_all_start_methods()[0] == "forkserver"
    assert set(corepool.get_all_start_methods()) == set(multiprocessing.get_all_start_methods())


@pytest.mark.usefixtures("start_method_unset")
def test_pools_read_the_method_the_program_chose() -> None:
    assert resolve_context(None).get_start_method() == "forkserver"
    corepool.set_start_method("spawn")
    assert resolve_context(None).get_start_method() == "spawn"
    corepool.set_start_method(None, force=True)
    multiprocessing.set_start_method("spawn")  # the standard library's, set by the program
    assert resolve_context(None).get_start_method() == "spawn"


@pytest.mark.parametrize("method", START_METHODS)
def test_get_context_binds_corepools_objects_to_a_method(method: str) -> None:
    context = corepool.get_context(method)
    assert isinstance(context, multiprocessing.context.BaseContext)
    assert context.get_start_method() == method
    assert context.get_context() is context
    assert context.Process._start_method == method
    assert isinstance(context.Lock(), corepool.Lock)
    assert isinstance(context.Queue(), corepool.Queue)
    assert context.Value("i", 3).value == 3
    assert resolve_context(context).get_start_method() == method
    with pytest.raises(ValueError, match="cannot set start method of concrete context"):
        context.set_start_method("spawn")


def test_get_context_of_an_unknown_method_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot find context for 'teleport'"):
        corepool.get_context("teleport")


# The worker's own view of how it started: the class attribute ``multiprocessing`` gives each
# process (``fork``/``spawn``/``forkserver``), and whether its parent is the program (a
# forkserver worker's parent is the fork server).
PROGRAM = textwrap.dedent(
    """
    import os
    import multiprocessing as standard
    import corepool as multiprocessing
    import corepool.futures

    def how_started(_=None):
        return standard.current_process()._start_method, os.getppid() == PARENT

    def report(queue):
        queue.put(how_started())

    PARENT = os.getppid() if standard.parent_process() else os.getpid()

    if __name__ == "__main__":
        {choose}
        with multiprocessing.Pool(1) as pool:
            print("pool", *pool.apply(how_started))
        with corepool.futures.ProcessPoolExecutor(1) as executor:
            print("executor", *executor.submit(how_started).result())
        queue = multiprocessing.Queue()
        process = multiprocessing.Process(target=report, args=(queue,))
        process.start()
        print("process", *queue.get(timeout=30))
        process.join()
        print("chosen", multiprocessing.get_start_method())
    """
)


def _run(program: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=90, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.splitlines()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("chooser", ["corepool", "multiprocessing"])
def test_a_start_method_the_program_sets_is_the_one_its_workers_start_with(
    method: str, chooser: str
) -> None:
    interpreter_default = multiprocessing.context._default_context._default_context  # type: ignore[attr-defined]
    if chooser == "multiprocessing" and method == interpreter_default.get_start_method():
        pytest.skip(
            f"multiprocessing.set_start_method({method!r}) picks this interpreter's default, which "
            "cannot be told apart from no choice (docs: _lifecycle/start_method.py)"
        )
    module = "multiprocessing" if chooser == "corepool" else "standard"
    output = _run(PROGRAM.format(choose=f"{module}.set_start_method({method!r})"))
    child_of_the_program = str(method != "forkserver")
    assert output == [
        f"pool {method} {child_of_the_program}",
        f"executor {method} {child_of_the_program}",
        f"process {method} {child_of_the_program}",
        f"chosen {method}",
    ]


def test_without_a_choice_workers_start_with_forkserver() -> None:
    output = _run(PROGRAM.format(choose="pass"))
    assert output[:3] == [
        "pool forkserver False",
        "executor forkserver False",
        "process forkserver False",
    ]
