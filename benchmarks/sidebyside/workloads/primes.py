"""The tutorial's ``is_prime`` example through ``map``: six large ints, two of them prime.

A prime runs ``is_prime``'s whole loop (~16 M steps); the other four end at once.  So the map is
two long tasks and four instant ones, and a pool reaches the bound (the longer prime alone) only
if it starts the two primes on different workers at once.  2 workers.
"""

from __future__ import annotations

from typing import Any

from sidebyside import uneven
from sidebyside.model import Workload
from sidebyside.tasks import PRIMES, is_prime

# is_prime(PRIMES) as the tutorial prints it (computing it here would cost ~3 s per run).
EXPECTED = (False, True, True, False, False, False)


def prepare(quick: bool) -> dict[str, Any]:
    return {"items": len(PRIMES), "expected": uneven.digest(EXPECTED)}


WORKLOAD = Workload(
    name="primes",
    title="The tutorial's is_prime example: 6 large ints, 2 of them prime (map, default arguments)",
    description=__doc__ or "",
    rows=uneven.rows(is_prime, PRIMES),
    reference=uneven.REFERENCE,
    prepare=prepare,
    check=uneven.check,
)
