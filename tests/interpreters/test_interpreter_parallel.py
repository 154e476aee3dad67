"""Each subinterpreter has its own GIL: two CPU-bound pure-Python tasks run at the same time.

Checked by the overlap of their run intervals and the distinct interpreters they ran in, never
by how long they took (the figures are the benchmark's: benchmarks/bench_interpreters.py).
"""

from __future__ import annotations

import interp_tasks

import corepool


def test_two_cpu_bound_tasks_overlap_in_two_interpreters(pool: corepool.Pool) -> None:
    pool.map(interp_tasks.interpreter_id, range(2), chunksize=1)  # both workers up
    (start_a, end_a, interp_a), (start_b, end_b, interp_b) = pool.map(
        interp_tasks.spin, [0.3, 0.3], chunksize=1
    )
    assert interp_a != interp_b
    assert max(start_a, start_b) < min(end_a, end_b), "the two tasks ran one after the other"
