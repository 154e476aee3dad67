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

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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
    completed = subprocess.run(
        [sys.executable, *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip().splitlines()


def test_a_script_with_work_at_its_top_level(tmp_path: Path) -> None:
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    assert _run([str(script)]) == EXPECTED


def test_python_dash_c() -> None:
    assert _run(["-c", PROGRAM]) == EXPECTED


def test_a_program_on_stdin() -> None:
    assert _run(["-"], stdin=PROGRAM) == EXPECTED


def test_a_script_workers_may_reimport_keeps_its_own_rules(tmp_path: Path) -> None:
    # Guarded and harmless to re-run: a worker of the forkserver (should the zygote be gone)
    # re-imports it and would find the top-level ``twice``, so the script's own rules decide:
    # a name bound twice goes by value, even though the zygote holds the parent's object.
    script = tmp_path / "program.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import corepool

            def twice(x):
                return "first"

            def twice(x):
                return "second"

            if __name__ == "__main__":
                with corepool.Pool(1) as pool:
                    print(pool.apply(twice, (0,)), "cloudpickle" in sys.modules)
            """
        )
    )
    assert _run([str(script)]) == ["second True"]
