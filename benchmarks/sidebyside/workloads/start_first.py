"""The first pool of a program, then later pools in the same process (2 workers each).

One fresh interpreter per run.  The clock starts *before* the library is imported (``import
multiprocessing`` for the standard library's rows, ``import corepool`` for corepool's: a program
pays both), then one pool is created, runs one trivial task, is closed and joined (or shut
down), and that is the *first pool*; the median column is that time, import included.  The
*first, no import* column leaves the import out, and the *import* column shows it alone.  Then
``LATER`` more pools go through the same lifecycle in the same process: *later pool* is their
median (a forkserver, a janitor or a fork server already running are reused by then).

The *script* rows run the same first pool as a program's main script does, its task a function
that script defines (``SCRIPT``, with its ``__main__`` guard), in a process of its own started
by the run: how a user's first program meets a pool, with nothing imported before it (the rows
above run after the benchmark's own imports, several of which ``multiprocessing`` needs too).
A function of ``__main__`` is what a library must send by name or by value, which a module's
function (``noop``, above) never tests.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.start_rows import MP_DEFAULT, REFERENCE, start_rows
from sidebyside.stats import paired
from sidebyside.tasks import noop

WORKERS = 2
LATER = 5


def _measure(imports: Callable[[], Any], lifecycle: Callable[[Any], None]) -> dict[str, Any]:
    started = time.perf_counter()
    module = imports()
    imported = time.perf_counter()
    lifecycle(module)
    finished = time.perf_counter()
    later = []
    for _ in range(LATER):
        began = time.perf_counter()
        lifecycle(module)
        later.append(time.perf_counter() - began)
    return {
        "seconds": finished - started,
        "first_no_import_seconds": finished - imported,
        "import_seconds": imported - started,
        "later_seconds": statistics.median(later),
    }


def _import_multiprocessing() -> Any:
    import multiprocessing

    return multiprocessing


def _import_futures() -> Any:
    import concurrent.futures
    import multiprocessing

    return concurrent.futures, multiprocessing


def _import_corepool(front_door: str) -> Callable[[], Any]:
    """``import corepool`` and the one front door the row uses: they load lazily, so loading it
    is part of the import, and a program that uses a Pool never loads the executors (which return
    ``concurrent.futures.Future``s, and so import ``concurrent.futures``), nor the reverse."""

    def imports() -> Any:
        import corepool

        getattr(corepool, front_door)
        return corepool

    return imports


def mp_pool(method: str | None) -> Callable[[Params], dict[str, Any]]:
    def lifecycle(multiprocessing: Any) -> None:
        pool = multiprocessing.get_context(method).Pool(WORKERS)
        pool.apply(noop)
        pool.close()
        pool.join()

    return lambda p: _measure(_import_multiprocessing, lifecycle)


def futures_process(p: Params) -> dict[str, Any]:
    def lifecycle(modules: Any) -> None:
        futures, _ = modules
        with futures.ProcessPoolExecutor(WORKERS) as executor:
            executor.submit(noop).result()

    return _measure(_import_futures, lifecycle)


def corepool_pool(p: Params) -> dict[str, Any]:
    def lifecycle(corepool: Any) -> None:
        pool = corepool.Pool(WORKERS)
        pool.apply(noop)
        pool.close()
        pool.join()

    return _measure(_import_corepool("Pool"), lifecycle)


def corepool_executor(p: Params) -> dict[str, Any]:
    def lifecycle(corepool: Any) -> None:
        with corepool.ProcessPoolExecutor(WORKERS) as executor:
            executor.submit(noop).result()

    return _measure(_import_corepool("ProcessPoolExecutor"), lifecycle)


SCRIPT = textwrap.dedent(
    """
    import time

    started = time.perf_counter()
    import {module}

    {module}.Pool  # corepool loads its front doors when first asked for: part of the import
    imported = time.perf_counter()


    def task():
        return None


    if __name__ == "__main__":
        pool = {module}.Pool({workers})
        pool.apply(task)
        pool.close()
        pool.join()
        finished = time.perf_counter()
        print("FIRST_POOL", finished - started, finished - imported, imported - started)
    """
)


def script_row(module: str) -> Callable[[Params], dict[str, Any]]:
    """A runner that times the first pool of a main script using ``module``'s ``Pool``."""

    def run(p: Params) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as directory:
            script = Path(directory) / "first_pool.py"
            script.write_text(SCRIPT.format(module=module, workers=WORKERS))
            done = subprocess.run(
                [sys.executable, str(script)],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
                cwd=directory,
            )
        line = next(line for line in done.stdout.splitlines() if line.startswith("FIRST_POOL"))
        total, no_import, imports = map(float, line.split()[1:])
        return {
            "seconds": total,
            "first_no_import_seconds": no_import,
            "import_seconds": imports,
        }

    return run


def prepare(quick: bool) -> dict[str, Any]:
    return {}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    ours, theirs = stats[REFERENCE], stats[MP_DEFAULT]
    first, first_mp = ours.median, theirs.median
    bare = ours.extras["first_no_import_seconds"]
    bare_mp = theirs.extras["first_no_import_seconds"]
    later, later_mp = ours.extras["later_seconds"], theirs.extras["later_seconds"]
    script, script_mp = stats[COREPOOL_SCRIPT], stats[MP_SCRIPT]
    script_ratio = paired(script, script_mp)
    first_ratio = paired(ours, theirs)
    bare_ratio = paired(ours, theirs, "first_no_import_seconds")
    later_ratio = paired(ours, theirs, "later_seconds")
    return [
        TargetCheck(
            "corepool.Pool: first pool (import included) <= 2x multiprocessing.Pool (default)",
            f"{first * 1000:.0f} ms vs {first_mp * 1000:.0f} ms (medians), {first_ratio.text()}; "
            f"without the import {bare * 1000:.0f} ms vs {bare_mp * 1000:.0f} ms, "
            f"{bare_ratio.text()}",
            first_ratio.median <= 2,
        ),
        TargetCheck(
            "corepool.Pool: a script's first pool, its task defined in the script, <= 2x "
            "multiprocessing.Pool's",
            f"{script.median * 1000:.0f} ms vs {script_mp.median * 1000:.0f} ms (medians), "
            f"{script_ratio.text()}",
            script_ratio.median <= 2,
        ),
        TargetCheck(
            "corepool.Pool: later pools <= 1.5x multiprocessing.Pool (default)",
            f"{later * 1000:.1f} ms vs {later_mp * 1000:.1f} ms (medians); {later_ratio.text()}",
            later_ratio.median <= 1.5,
        ),
    ]


MP_SCRIPT = "multiprocessing.Pool (script)"
COREPOOL_SCRIPT = "corepool.Pool (script)"

WORKLOAD = Workload(
    name="start_first",
    title="first pool in a fresh interpreter, import included, then later pools (2 workers)",
    description=__doc__ or "",
    rows=(
        *start_rows(mp_pool, futures_process, corepool_pool, corepool_executor),
        Row(
            MP_SCRIPT,
            script_row("multiprocessing"),
            "a main script's first pool (SCRIPT), compared with corepool's",
            compare_with=COREPOOL_SCRIPT,
        ),
        Row(
            COREPOOL_SCRIPT,
            script_row("corepool"),
            "a main script's first pool (SCRIPT)",
            compare_with=COREPOOL_SCRIPT,
        ),
    ),
    reference=REFERENCE,
    prepare=prepare,
    check=check,
    rounds=3,  # each run takes ~20-60 ms, and a first pool's time moves by tens of percent
    extra_columns=(
        ("first_no_import_seconds", "first, no import (s)", "{:.4f}"),
        ("import_seconds", "import (s)", "{:.4f}"),
        ("later_seconds", "later pool (s)", "{:.4f}"),
    ),
)
