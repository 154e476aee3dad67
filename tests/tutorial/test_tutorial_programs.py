"""The programs of the tutorial our users learned from run on corepool after changing only their
imports.

The tutorial (``python-concurrency-tutorial.txt``) is not part of this repository, and its code
is not copied here: the test reads it from the workplace's reference folder (or
``$COREPOOL_TUTORIAL``), cuts each program out by its first and last lines, rewrites its import
lines and nothing else, and runs it.  corepool's own versions of such programs are in
``examples/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
TUTORIAL = Path(
    os.environ.get(
        "COREPOOL_TUTORIAL",
        REPOSITORY.parent / "shared" / "reference" / "python-concurrency-tutorial.txt",
    )
)

# (first line of the program, the prose line right after it, what its output must contain)
PROGRAMS = {
    "manager-dict-and-lock": (
        "from multiprocessing import Process",
        "You can share dictionaries",
        ["all processes ended...", "Amy\t4", "Lily\t2", "Dirk\t1", "Denial\t1"],
    ),
    "pool-apply-and-plot": (
        "from multiprocessing import Process\nfrom multiprocessing import Pool",
        "During synchronous call",
        ["[1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584, 4181, 6765]"],
    ),
    "process-pool-executor": (
        "import concurrent.futures",
        "8004",
        [
            "1112272535095293 is prime: False",
            "1112582705942171 is prime: True",
            "1112272535095291 is prime: True",
            "1115280095190773 is prime: False",
            "1115797848077099 is prime: False",
            "11099726899285419 is prime: False",
        ],
    ),
    "threads": (
        "from threading import Thread,currentThread",
        "Thread-1 print name",
        ["print name: thread_task_func", "thread_task_class print name: thread_task_class", "main"],
    ),
    "threads-versus-processes": (
        "from multiprocessing import Process\nfrom threading import Thread",
        "multi-process run time is",
        ["multi-process run time is", "multi-thread run time is"],
    ),
}


def cut_program(text: str, first: str, after: str) -> str:
    start = text.index(first)
    end = text.index("\n" + after, start)
    return text[start:end] + "\n"


def switch_imports(program: str) -> str:
    """Change import lines only: multiprocessing and concurrent.futures become corepool."""
    lines = []
    for line in program.splitlines():
        if re.match(r"from multiprocessing import ", line):
            lines.append(line.replace("from multiprocessing import ", "from corepool import ", 1))
        elif line.strip() == "import concurrent.futures":
            lines.append("import corepool as concurrent")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


# The two heaviest programs run the tutorial's own CPU-bound workloads (~40-50 s each here):
# marked slow, so that CI's second interpreter may leave them to its first (.ci/run).
HEAVY = ("threads-versus-processes", "pool-apply-and-plot")


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name for name in PROGRAMS],
)
def test_tutorial_program_runs_on_corepool(name: str, tmp_path: Path) -> None:
    if not TUTORIAL.is_file():
        pytest.skip(f"the tutorial is not in this checkout ({TUTORIAL}); set COREPOOL_TUTORIAL")
    if name == "pool-apply-and-plot":
        pytest.importorskip("matplotlib")
    first, after, expected = PROGRAMS[name]
    original = cut_program(TUTORIAL.read_text(), first, after)
    program = switch_imports(original)
    changed = [
        (old, new)
        for old, new in zip(original.splitlines(), program.splitlines(), strict=True)
        if old != new
    ]
    assert all("import" in old and "import" in new for old, new in changed)
    script = tmp_path / f"{name}.py"
    script.write_text(program)
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=580,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    for fragment in expected:
        assert fragment in completed.stdout, (fragment, completed.stdout[-2000:])
