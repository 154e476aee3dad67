"""Functions of ``__main__`` that the zygote's copy of it holds travel by reference.

Workers forked from the zygote have ``__main__`` as it was when the zygote was forked (a pool's
first start), as workers forked by ``multiprocessing``'s ``fork`` have it as it was at theirs.
A script with work at its top level (no ``if __name__ == "__main__":`` guard, the way many first
programs are written), ``python -c`` and stdin are never re-imported by a worker, so their
functions used to travel by value, through cloudpickle, imported by the program and by every
new worker.  Those the zygote holds under the same name now go by reference; a name rebound
since, or defined after, still goes by value, and runs the parent's version.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from support.processes import python_output

pytestmark = pytest.mark.timeout(120)

PROGRAM = textwrap.dedent(
    """
    import sys
    import corepool
    from corepool._lifecycle.zygote import ZYGOTE

    def top(x):
        return x + 100

    def rebound(x):
        return "the version the zygote holds"

    with corepool.Pool(1) as pool:
        print(pool.apply(top, (1,)), ZYGOTE.running, "cloudpickle" in sys.modules)
        print(pool.map(top, range(3)))

        def rebound(x):  # the parent's object is no longer the zygote's
            return "the parent's version"

        def later(x):  # the zygote's __main__ never had it
            return x * 2

        print(pool.apply(rebound, (0,)), pool.apply(later, (4,)))
    """
)

EXPECTED = ["101 True False", "[100, 101, 102]", "the parent's version 8"]


def _run(args: list[str], stdin: str | None = None) -> list[str]:
    return python_output(args, stdin).splitlines()


def test_a_script_with_work_at_its_top_level(tmp_path: Path) -> None:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    assert _run([str(script)]) == EXPECTED


def test_python_dash_c() -> None:
    assert _run(["-c", PROGRAM]) == EXPECTED


def test_a_program_on_stdin() -> None:
    assert _run(["-"], stdin=PROGRAM) == EXPECTED


def test_a_script_workers_may_reimport_needs_no_ast(tmp_path: Path) -> None:
    # Guarded and harmless to re-run: its functions went by reference before too, once ``ast``
    # had read the script to prove a re-import binds the name once; with the zygote holding
    # them, nothing reads the script, and a name bound twice runs the parent's version.
    script = tmp_path / "program.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import corepool

            def once(x):
                return x + 1

            def twice(x):
                return "first"

            def twice(x):
                return "second"

            if __name__ == "__main__":
                with corepool.Pool(1) as pool:
                    print(pool.apply(once, (1,)), pool.apply(twice, (0,)))
                    print("ast" in sys.modules, "cloudpickle" in sys.modules)
            """
        )
    )
    assert _run([str(script)]) == ["2 second", "False False"]


def test_a_worker_with_another_function_by_that_name_refuses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a worker of the forkserver (the zygote gone) would meet: a re-import that binds the
    # name to the script's top-level version, not the parent's.
    import pickle
    import types

    from corepool._wire import main_reference

    main = types.ModuleType("__main__")
    exec("def task(x):\n    return 'parent'\n", main.__dict__)
    parents = main.task
    blob = pickle.dumps(main_reference.MainReference(parents))
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert pickle.loads(blob) is parents
    exec("def task(x):\n    return 'top level'\n", main.__dict__)
    with pytest.raises(LookupError, match="'task'"):
        pickle.loads(blob)
    del main.task
    with pytest.raises(LookupError, match="'task'"):
        pickle.loads(blob)


GLOBALS_PROGRAM = textwrap.dedent(
    """
    import math
    import sys
    import corepool

    factor = 1
    limit = None

    def scale(x):
        return x * factor

    def capped(x):
        return x if limit is None else min(x, limit)

    def via_helper(x):
        return scale(x) + 0

    def pure(x):
        return math.floor(x * 2.5)

    with corepool.Pool(1) as pool:
        print(pool.map(scale, [1, 2]), pool.map(capped, [5]), pool.map(pure, [1]))
    factor = 10
    limit = 3
    with corepool.Pool(1) as pool:
        # What multiprocessing.Pool under fork gives: the data as it is at this pool.
        print(pool.map(scale, [1, 2]), pool.map(capped, [5]), pool.map(via_helper, [1]))
        print(pool.map(pure, [1]), "cloudpickle" in sys.modules)
    """
)


def test_data_of_main_a_function_reads_is_the_programs_now(tmp_path: Path) -> None:
    # The zygote's copy of __main__ has factor = 1 and limit = None; a function reading them
    # goes by value, with the values the program has when it calls.  ``pure`` reads only a
    # module, and goes by name (cloudpickle was loaded by the others, so it tells nothing).
    script = tmp_path / "program.py"
    script.write_text(GLOBALS_PROGRAM)
    assert _run([str(script)]) == ["[1, 2] [5] [2]", "[10, 20] [3] [10]", "[2] True"]


def test_a_function_reading_only_modules_and_functions_goes_by_name() -> None:
    program = textwrap.dedent(
        """
        import math
        import sys
        import corepool
        from corepool._lifecycle.zygote import ZYGOTE

        def helper(x):
            return math.sqrt(x)

        def task(x):
            return [helper(v) for v in range(x)]

        with corepool.Pool(1) as pool:
            print(pool.apply(task, (3,)), "cloudpickle" in sys.modules)
        """
    )
    assert _run(["-c", program]) == ["[0.0, 1.0, 1.4142135623730951] False"]
