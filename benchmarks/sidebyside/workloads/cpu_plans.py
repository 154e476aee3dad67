"""Diagnostic, not in the default run: the ``cpu`` workload's map under other chunk plans.

``python benchmarks/run.py -w cpu_plans --name cpu_plans`` times the same 64 pure-Python tasks of
~25 ms as ``cpu`` (the same calibration, measure and efficiency), for ``multiprocessing.Pool``
and for ``corepool.Pool`` with its own plan and with ``multiprocessing.Pool``'s (8 chunks of 8:
``chunksize=8``), each with corepool's default start method and under ``fork``.  It separates
what a pool's chunk plan costs from what its workers' start method costs.  Last, both pools with
one chunk per worker (``chunksize=32``): a single message each way, the same for both, so what
is left between them is how fast the same tasks ran in each pool's workers, not scheduling
(issue 10's closing notes; ``bench_cpu_parents.py`` times that speed alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

from sidebyside import pools
from sidebyside.model import Params, Row, RowStats, TargetCheck, Workload
from sidebyside.tasks import burn_timed
from sidebyside.workloads import cpu

PLAN_OF_MULTIPROCESSING = 8  # ceil(64 tasks / (2 workers x 4)): multiprocessing.Pool's chunksize
HALVES = cpu.TASKS // cpu.WORKERS  # one chunk per worker: a single message each way


def _plan(
    open_pool: Callable[[], AbstractContextManager[Any]], chunksize: int | None
) -> Callable[[Params], dict[str, Any]]:
    """A row: the ``cpu`` map with ``chunksize`` on the warm pool ``open_pool()`` gives."""

    def run(p: Params) -> dict[str, Any]:
        with open_pool() as pool:
            return cpu.measure(lambda loads: pool.map(burn_timed, loads, chunksize), p)

    return run


def _corepool(chunksize: int | None, context: str | None) -> Callable[[Params], dict[str, Any]]:
    return _plan(partial(pools.corepool_pool, cpu.WORKERS, context=context), chunksize)


def _multiprocessing(chunksize: int) -> Callable[[Params], dict[str, Any]]:
    return _plan(partial(pools.mp_pool, cpu.WORKERS), chunksize)


def check(stats: Mapping[str, RowStats], p: Params) -> list[TargetCheck]:
    return []  # a diagnostic: the targets are the ``cpu`` workload's


WORKLOAD = Workload(
    name="cpu_plans",
    title="64 pure-Python CPU-bound tasks of ~25 ms under other chunk plans (diagnostic)",
    description=__doc__ or "",
    rows=(
        Row("serial loop", cpu.serial),
        Row("multiprocessing.Pool", cpu.mp_pool, "default start method, chunks of 8"),
        Row("corepool.Pool", cpu.corepool_pool),
        Row("corepool.Pool (chunksize=8)", _corepool(PLAN_OF_MULTIPROCESSING, None)),
        Row("corepool.Pool (fork)", _corepool(None, "fork")),
        Row("corepool.Pool (fork, chunksize=8)", _corepool(PLAN_OF_MULTIPROCESSING, "fork")),
        Row("multiprocessing.Pool (chunksize=32)", _multiprocessing(HALVES)),
        Row("corepool.Pool (chunksize=32)", _corepool(HALVES, None)),
    ),
    reference="corepool.Pool",
    prepare=cpu.prepare,
    check=check,
    extra_columns=cpu.WORKLOAD.extra_columns,
    annotate=cpu.annotate,
    rounds=cpu.WORKLOAD.rounds,
)
