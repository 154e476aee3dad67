"""A cluster started as separate programs: `dask scheduler` and two `dask worker`s, 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask backend needs: pip install 'corepool[dask]'")

import dask_tasks as tasks

import corepool

DASK = shutil.which("dask") or "dask"
HERE = Path(__file__).resolve().parent  # dask_tasks.py, for the workers to import
pytestmark = pytest.mark.skipif(shutil.which("dask") is None, reason="no `dask` command")


@pytest.fixture
def programs(tmp_path: Path) -> Iterator[tuple[Path, list[subprocess.Popen[bytes]]]]:
    scheduler_file = tmp_path / "scheduler.json"
    common = ["--scheduler-file", str(scheduler_file), "--host", "127.0.0.1", "--no-dashboard"]
    started = [
        subprocess.Popen(
            [DASK, "scheduler", "--port", "0", *common],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [DASK, "worker", "--nthreads", "1", "--no-nanny", *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=_with_tasks_on_path(),
                )
            )
        yield scheduler_file, started
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _with_tasks_on_path() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH", "")]))
    return env


def test_a_pool_on_a_cluster_of_programs(
    programs: tuple[Path, list[subprocess.Popen[bytes]]],
) -> None:
    import distributed

    scheduler_file, _ = programs
    # The client waits for the file the scheduler writes once it listens.
    with distributed.Client(
        scheduler_file=str(scheduler_file), set_as_default=False, timeout=30
    ) as client:
        client.wait_for_workers(2, timeout=30)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        with corepool.Pool(backend="dask", address=address) as pool:
            assert pool._processes == 2
            assert pool.map(tasks.square, range(100)) == [x * x for x in range(100)]
