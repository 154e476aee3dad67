"""The tutorial's fib jobs through ``map``: 16 jobs whose time grows with n squared.

Each job sleeps (the tutorial's 2 s, scaled to 20 ms), then runs the tutorial's ``fib`` on
n x 5000 for n = 1..16: from ~25 ms to ~180 ms, the longest last in the input.  A pool that
batches the early, short jobs learns a time per task that the later ones exceed many times over;
one that batches at the tail leaves a worker idle while the other finishes the batch.  2 workers.
"""

from __future__ import annotations

from typing import Any

from sidebyside import uneven
from sidebyside.model import Workload
from sidebyside.tasks import FIB_SCALE, fib, fib_job

JOBS = tuple(range(1, 17))


def prepare(quick: bool) -> dict[str, Any]:
    expected = uneven.digest([fib(n * FIB_SCALE) for n in JOBS])
    return {"jobs": len(JOBS), "scale": FIB_SCALE, "expected": expected}


WORKLOAD = Workload(
    name="fib",
    title="The tutorial's fib jobs: 16 uneven tasks (map, default arguments)",
    description=__doc__ or "",
    rows=uneven.rows(fib_job, JOBS),
    reference=uneven.REFERENCE,
    prepare=prepare,
    check=uneven.check,
)
