"""Any callable travels, under every start method: lambdas, closures, nested functions, and
functions defined in ``__main__`` of a script, of ``python -c`` and of stdin (a REPL-like session).
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

import corepool
from support import tasks
from support.processes import python_output

START_METHODS = ("fork", "forkserver", "spawn")


@pytest.fixture(params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def process_pool(start_method: str) -> Iterator[corepool.Pool]:
    with corepool.Pool(2, context=start_method) as pool:
        yield pool


def test_lambda(process_pool: corepool.Pool) -> None:
    assert process_pool.map(lambda x: x + 1, range(5)) == [1, 2, 3, 4, 5]


def test_closure_over_local_state(process_pool: corepool.Pool) -> None:
    factor = 7
    assert process_pool.apply(lambda x: x * factor, (3,)) == 21


def test_nested_function_and_local_class(process_pool: corepool.Pool) -> None:
    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    def norm(point: Point) -> int:
        return abs(point.x)

    assert process_pool.map(norm, [Point(-2), Point(3)]) == [2, 3]


def test_lambda_initializer(start_method: str) -> None:
    with corepool.Pool(
        1, context=start_method, initializer=lambda: tasks.set_state("k", 5)
    ) as pool:
        assert pool.apply(tasks.read_state, ("k",)) == 5


def test_default_start_method_is_forkserver() -> None:
    from corepool._lifecycle.start_method import default_start_method

    assert default_start_method() == "forkserver"


PROGRAM = textwrap.dedent(
    """
    import corepool

    def double(x):
        return 2 * x

    class Box:
        def __init__(self, value):
            self.value = value

    def unbox(box):
        return box.value

    if __name__ == "__main__":
        with corepool.Pool(2, context={method!r}) as pool:
            print(pool.map(double, range(4)), pool.apply(unbox, (Box(9),)),
                  pool.map(lambda x: x - 1, [1, 2]))
    """
)
EXPECTED = "[0, 2, 4, 6] 9 [0, 1]"


def test_functions_from_a_main_script(start_method: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(PROGRAM.format(method=start_method))
    assert python_output([str(script)]) == EXPECTED


def test_functions_from_python_dash_c(start_method: str) -> None:
    assert python_output(["-c", PROGRAM.format(method=start_method)]) == EXPECTED


def test_functions_from_stdin(start_method: str) -> None:
    assert python_output(["-"], stdin=PROGRAM.format(method=start_method)) == EXPECTED


BY_REFERENCE_PROGRAM = textwrap.dedent(
    """
    import sys
    import corepool

    def top(x):
        return x + 100

    def rebound(x):
        return "top-level version"

    if __name__ == "__main__":
        with corepool.Pool(1, context={method!r}) as pool:
            # Defined once at the top: travels by reference, no cloudpickle anywhere.
            print(pool.apply(top, (1,)), "cloudpickle" in sys.modules)

            def in_main_block(x):
                return x * 3

            def rebound(x):  # the worker's re-import would define the other one
                return "main-block version"

            print(pool.apply(in_main_block, (2,)), pool.apply(rebound, (0,)))
    """
)


def test_main_script_functions_travel_by_reference_only_when_the_worker_has_them(
    start_method: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(BY_REFERENCE_PROGRAM.format(method=start_method))
    first, second = python_output([str(script)]).splitlines()
    assert first == "101 False"
    assert second == "6 main-block version"


DEFINED_AFTER_FORK_PROGRAM = textwrap.dedent(
    """
    import threading
    import corepool

    # Top level only defines things (a re-import would be harmless): functions go by reference.
    def forked_pool():
        return corepool.Pool(1, context="fork")

    pool = forked_pool()  # the worker's __main__ is a copy of this moment's

    def late(x):  # top level, defined once: sent by reference, missing in the worker
        return x + 1

    guard = threading.Lock()

    def late_and_unpicklable(x):  # cannot go by value either (its globals hold a lock)
        with guard:
            return x

    if __name__ == "__main__":
        print(pool.apply(late, (1,)))
        try:
            pool.apply(late_and_unpicklable, (1,))
        except corepool.SerializationError as error:
            print(type(error).__name__, "late_and_unpicklable" in str(error))
        print(pool.apply(late, (2,)))
        pool.close()
        pool.join()
    """
)


def test_a_function_the_forked_worker_lacks_is_sent_again_by_value(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(DEFINED_AFTER_FORK_PROGRAM)
    assert python_output([str(script)]).splitlines() == ["2", "SerializationError True", "3"]


SPAWNED_EXIT_PROGRAM = textwrap.dedent(
    """
    import atexit
    import corepool

    def register_goodbye():
        atexit.register(print, "atexit ran in the worker", flush=True)
        print("unflushed output of the worker", end="")

    if __name__ == "__main__":
        with corepool.Pool(1, context="spawn") as pool:
            pool.apply(register_goodbye)
            pool.close()
            pool.join()
    """
)


def test_a_spawned_worker_runs_atexit_and_flushes_its_output_as_it_ends(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Spawned workers skip the interpreter's teardown (corepool._worker.spawned), not these.
    script = tmp_path / "program.py"
    script.write_text(SPAWNED_EXIT_PROGRAM)
    output = python_output([str(script)])
    assert "unflushed output of the worker" in output
    assert "atexit ran in the worker" in output


# A script without the main guard, as users write them: each worker would re-run it (and start a
# pool of its own) if corepool let it.  The top-level line must appear once.
UNGUARDED_PROGRAM = textwrap.dedent(
    """
    import corepool
    corepool.set_start_method({method!r})
    print("top level ran", flush=True)

    class Box:
        def __init__(self, value):
            self.value = value

    def double_box(box):
        return Box(box.value * 2)

    def report(queue, box):
        queue.put(box.value + 1)

    with corepool.Pool(2) as pool:
        print(pool.map(lambda x: x * x, range(4)))
        doubled = pool.apply(double_box, (Box(21),))
        print(type(doubled) is Box, doubled.value)
    with corepool.ProcessPoolExecutor(1) as executor:
        print(executor.submit(double_box, Box(1)).result().value)
    queue = corepool.Queue()
    process = corepool.Process(target=report, args=(queue, Box(41)))
    process.start()
    print(queue.get(timeout=30))
    process.join()
    """
)


def test_a_script_without_the_main_guard_runs_once(start_method: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(UNGUARDED_PROGRAM.format(method=start_method))
    assert python_output([str(script)]).splitlines() == [
        "top level ran",
        "[0, 1, 4, 9]",
        "True 42",
        "2",
        "42",
    ]


GUARD_AND_TOP_LEVEL_WORK_PROGRAM = textwrap.dedent(
    """
    import corepool
    print("top level ran", flush=True)  # work outside the guard: workers must not re-run it

    def square(x):
        return x * x

    if __name__ == "__main__":
        with corepool.Pool(2, context={method!r}) as pool:
            print(pool.map(square, range(4)))
    """
)


def test_a_guarded_script_with_work_at_its_top_level_runs_it_once(
    start_method: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(GUARD_AND_TOP_LEVEL_WORK_PROGRAM.format(method=start_method))
    assert python_output([str(script)]).splitlines() == ["top level ran", "[0, 1, 4, 9]"]


POOL_AT_TOP_LEVEL_PROGRAM = textwrap.dedent(
    """
    import corepool

    def square(x):
        return x * x

    pool = corepool.Pool(2, context={method!r})  # an assignment, but it starts workers

    if __name__ == "__main__":
        print(pool.map(square, range(4)))
        pool.close()
        pool.join()
    """
)


def test_a_guarded_script_that_starts_a_pool_at_its_top_level_starts_one(
    start_method: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(POOL_AT_TOP_LEVEL_PROGRAM.format(method=start_method))
    assert python_output([str(script)]).splitlines() == ["[0, 1, 4, 9]"]


def test_a_module_without_the_main_guard_runs_once_under_python_dash_m(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "program.py").write_text(UNGUARDED_PROGRAM.format(method="forkserver"))
    completed = subprocess.run(
        [sys.executable, "-m", "program"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == "top level ran"
    assert completed.stdout.count("top level ran") == 1


CANNOT_TRAVEL_PROGRAM = textwrap.dedent(
    """
    import threading
    import corepool
    corepool.set_start_method("spawn")

    guard = threading.Lock()

    def locked():  # its globals hold a lock: cannot travel by value
        with guard:
            pass

    corepool.Process(target=locked).start()
    """
)


def test_what_cannot_travel_from_an_unguarded_script_fails_at_once_naming_the_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "program.py"
    script.write_text(CANNOT_TRAVEL_PROGRAM)
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 1
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: cannot send")
    assert "if __name__ == '__main__':" in last
    assert completed.stderr.count("Traceback") == 1  # no child started, nothing else printed


@pytest.mark.parametrize("make", ["Lock", "Queue"])
def test_initargs_may_hold_what_multiprocessing_shares_only_by_inheritance(
    start_method: str, make: str
) -> None:
    # Pool(initializer=..., initargs=(lock,)) is how programs hand workers a multiprocessing lock.
    standard = multiprocessing.get_context(start_method)
    shared = getattr(standard, make)()
    with corepool.Pool(
        2, initializer=tasks.set_state, initargs=("queue", shared), context=start_method
    ) as pool:
        if make == "Lock":
            assert pool.map(tasks.hold_lock_from_state, ["queue"] * 4) == [True] * 4
        else:
            assert pool.map(tasks.put_from_worker, range(4)) == [True] * 4
            assert sorted(shared.get(timeout=30) for _ in range(4)) == [0, 1, 2, 3]
