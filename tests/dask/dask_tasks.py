"""Tasks for the Dask tests, importable by name on the cluster's workers (see conftest)."""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any


def square(x: int) -> int:
    return x * x


def add(a: int, b: int) -> int:
    return a + b


def keywords(x: int, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    return x, kwargs


def fails_on(x: int, bad: int = 3) -> int:
    if x == bad:
        raise ValueError(f"bad item {x}")
    return x


def rnd(_: object) -> float:
    return random.random()


def where(_: object) -> tuple[str, int]:
    return threading.current_thread().name, os.getpid()


def nap(x: int, seconds: float = 0.01) -> int:
    time.sleep(seconds)  # the work itself, not a synchronisation
    return x


def kills_its_worker(_: object) -> None:
    os._exit(3)


def kills_its_worker_until(marker: str, times: int) -> str:
    """Kill the Dask worker running it the first ``times`` times (counted in a file)."""
    path = Path(marker)
    done = int(path.read_text() or 0) if path.exists() else 0
    if done < times:
        path.write_text(str(done + 1))
        os._exit(3)
    return "survived"


def total(array: Any, index: int) -> float:
    return float(array.sum()) + index


def use_lock(lock: Any) -> bool:
    with lock:
        return True


def worker_pids(client: Any) -> dict[str, int]:
    """The Dask worker processes, by address (a helper of the tests, run in the parent)."""
    return {address: int(pid) for address, pid in client.run(os.getpid).items()}
