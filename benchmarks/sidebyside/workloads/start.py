"""Pool start, one trivial task, shutdown: the fixed cost of using a pool at all.

Timed from just before the pool is created to the moment its workers have all exited (``close()``
and ``join()``, or ``shutdown(wait=True)``), in a fresh interpreter, so that the forkserver (started
once per parent process) is paid by every row that uses it.  The library's import is done before
the clock starts and reported separately.  2 workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.stats import paired
from sidebyside.tasks import noop

WORKERS = 2


def _measure(imports: Callable[[], Any], lifecycle: Callable[[Any], None]) -> dict[str, Any]:
    started = time.perf_counter()
    module = imports()
    imported = time.perf_counter()
    lifecycle(module)
    finished = time.perf_counter()
    return {"seconds": finished - imported, "import_seconds": imported - started}


def _import_multiprocessing() -> Any:
    import multiprocessing

    return multiprocessing


def _import_corepool() -> Any:
    import corepool

    corepool.Pool  # noqa: B018 - load the lazy module before the clock starts
    corepool.ProcessPoolExecutor  # noqa: B018
    return corepool


def mp_pool(method: str) -> Callable[[Params], dict[str, Any]]:
    def lifecycle(multiprocessing: Any) -> None:
        pool = multiprocessing.get_context(method).Pool(WORKERS)
        pool.apply(noop)
        pool.close()
        pool.join()

    return lambda p: _measure(_import_multiprocessing, lifecycle)


def corepool_pool(method: str | None) -> Callable[[Params], dict[str, Any]]:
    def lifecycle(corepool: Any) -> None:
        pool = corepool.Pool(WORKERS, context=method)
        pool.apply(noop)
        pool.close()
        pool.join()

    return lambda p: _measure(_import_corepool, lifecycle)


def corepool_executor(p: Params) -> dict[str, Any]:
    def lifecycle(corepool: Any) -> None:
        with corepool.ProcessPoolExecutor(WORKERS) as executor:
            executor.submit(noop).result()

    return _measure(_import_corepool, lifecycle)


def futures_process(method: str | None) -> Callable[[Params], dict[str, Any]]:
    def imports() -> Any:
        import concurrent.futures
        import multiprocessing

        return concurrent.futures, multiprocessing

    def lifecycle(modules: Any) -> None:
        futures, multiprocessing = modules
        context = multiprocessing.get_context(method)
        with futures.ProcessPoolExecutor(WORKERS, mp_context=context) as executor:
            executor.submit(noop).result()

    return lambda p: _measure(imports, lifecycle)


def joblib_loky(p: Params) -> dict[str, Any]:
    def imports() -> Any:
        import joblib
        from joblib.externals.loky import get_reusable_executor

        return joblib, get_reusable_executor

    def lifecycle(modules: Any) -> None:
        joblib, get_reusable_executor = modules
        joblib.Parallel(n_jobs=WORKERS)([joblib.delayed(noop)()])
        get_reusable_executor(max_workers=WORKERS).shutdown(wait=True)

    return _measure(imports, lifecycle)


def mpire(p: Params) -> dict[str, Any]:
    def imports() -> Any:
        from mpire import WorkerPool

        return WorkerPool

    def lifecycle(worker_pool: Any) -> None:
        with worker_pool(n_jobs=WORKERS) as pool:
            pool.map(noop, [None])

    return _measure(imports, lifecycle)


def prepare(quick: bool) -> dict[str, Any]:
    return {}


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    checks = []
    for method in ("forkserver", "fork", "spawn"):
        ours = stats[_corepool_label(method)]
        theirs = stats[f"multiprocessing.Pool ({method})"]
        compared = paired(theirs, ours)
        checks.append(
            TargetCheck(
                f"corepool.Pool no slower than multiprocessing.Pool ({method})",
                f"{ours.median * 1000:.0f} ms vs {theirs.median * 1000:.0f} ms (medians); "
                f"{compared.text()}",
                compared.median >= 1,
            )
        )
    return checks


def _corepool_label(method: str) -> str:
    return REFERENCE if method == "forkserver" else f"corepool.Pool ({method})"


REFERENCE = "corepool.Pool (forkserver, its default)"

WORKLOAD = Workload(
    name="start",
    title="pool start + one trivial task + shutdown (2 workers)",
    description=__doc__ or "",
    rows=(
        Row(REFERENCE, corepool_pool(None)),
        Row("corepool.ProcessPoolExecutor (forkserver)", corepool_executor),
        Row("multiprocessing.Pool (forkserver)", mp_pool("forkserver")),
        Row("corepool.Pool (fork)", corepool_pool("fork")),
        Row("multiprocessing.Pool (fork)", mp_pool("fork"), compare_with="corepool.Pool (fork)"),
        Row("corepool.Pool (spawn)", corepool_pool("spawn")),
        Row("multiprocessing.Pool (spawn)", mp_pool("spawn"), compare_with="corepool.Pool (spawn)"),
        Row(
            "concurrent.futures.ProcessPoolExecutor (its default)",
            futures_process(None),
            "fork on Linux up to Python 3.13, forkserver from 3.14",
        ),
        Row("concurrent.futures.ProcessPoolExecutor (forkserver)", futures_process("forkserver")),
        Row("joblib (loky)", joblib_loky, "Parallel call, then the reusable executor shut down"),
        Row("mpire", mpire, "WorkerPool(n_jobs=2), fork (its default)"),
    ),
    reference=REFERENCE,
    prepare=prepare,
    check=check,
    rounds=3,  # each run takes tens of milliseconds; the fork row moves by tens of percent
    extra_columns=(("import_seconds", "import (s)", "{:.3f}"),),
)
