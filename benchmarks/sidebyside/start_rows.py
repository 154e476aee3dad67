"""The rows of the start-up workloads (``start_first``, ``start_many``): the same five pools, each
with its own default start method, plus ``multiprocessing.Pool`` on forkserver (corepool's)."""

from __future__ import annotations

from collections.abc import Callable

from sidebyside.model import Row, Runner

REFERENCE = "corepool.Pool"
MP_DEFAULT = "multiprocessing.Pool (default)"


def start_rows(
    mp_pool: Callable[[str | None], Runner],
    futures_process: Runner,
    corepool_pool: Runner,
    corepool_executor: Runner,
) -> tuple[Row, ...]:
    """``mp_pool(method)`` makes the ``multiprocessing.Pool`` runner for a start method."""
    return (
        Row(MP_DEFAULT, mp_pool(None), "fork on Linux up to Python 3.13"),
        Row("multiprocessing.Pool (forkserver)", mp_pool("forkserver")),
        Row(
            "concurrent.futures.ProcessPoolExecutor (default)",
            futures_process,
            "fork on Linux up to Python 3.13, forkserver from 3.14",
        ),
        Row(REFERENCE, corepool_pool, "its default start method"),
        Row("corepool.ProcessPoolExecutor", corepool_executor, "its default start method"),
    )
