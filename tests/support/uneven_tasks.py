"""Tasks of uneven length whose order is forced with files, not sleeps (tests/engine/
test_uneven_tasks.py): a "long" task waits until a set of files exists, so if the pool put two
tasks that must run side by side on one worker, the first gives up at its deadline and says so."""

from __future__ import annotations

import os
import time
from pathlib import Path

# Far above any honest wait (the other worker starts within milliseconds), far below the
# test's own timeout, so a wrong schedule fails the test instead of hanging it.
DEADLINE_SECONDS = 20.0


def wait_for_partners(item: tuple[str, str, tuple[str, ...]]) -> tuple[int, bool]:
    """Create ``directory/name``, then wait for every name in ``partners`` to exist there.

    Returns (pid, whether they all appeared before the deadline).
    """
    directory, name, partners = item
    Path(directory, name).touch()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not all(Path(directory, partner).exists() for partner in partners):
        if time.monotonic() > deadline:
            return os.getpid(), False
        time.sleep(0.001)
    return os.getpid(), True


def nap_or_die_once(item: tuple[str, int, int, float]) -> int:
    """Sleep ``seconds`` and return ``value``; the item whose value is ``dying`` kills its
    worker the first time it runs (a marker file remembers the first time)."""
    directory, value, dying, seconds = item
    marker = Path(directory, "died")
    if value == dying and not marker.exists():
        marker.touch()
        os._exit(3)
    time.sleep(seconds)
    return value


def only_the_first_starts_fast(directory: str) -> None:
    """An initializer: the first worker to run it returns at once, every other sleeps 30 s."""
    try:
        os.close(os.open(Path(directory, "first"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        time.sleep(30)


def pid_of(_: object) -> int:
    return os.getpid()
