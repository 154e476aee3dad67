"""Running the ``corepool`` command in a subprocess, the way a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

# The command must finish well inside its test's timeout, so that a hang fails with our message.
COMMAND_TIMEOUT = 60


def _run(
    *args: str, cwd: Path | None = None, path_first: Sequence[Path] = ()
) -> subprocess.CompletedProcess[str]:
    """``python -m corepool.cli.main *args`` in ``cwd``; ``path_first`` goes before PYTHONPATH
    (to hide a module behind a blocking one)."""
    env = dict(os.environ)
    if path_first:
        rest = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
        env["PYTHONPATH"] = os.pathsep.join([*map(str, path_first), *rest])
    # -W error: a ResourceWarning (leaked pool, socket, file) makes the command fail.
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "corepool.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.fixture(scope="session")
def corepool_command() -> Callable[..., subprocess.CompletedProcess[str]]:
    return _run
