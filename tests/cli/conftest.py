"""Running the ``corepool`` command in a subprocess, the way a user does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

# The command must finish well inside its test's timeout, so that a hang fails with our message.
COMMAND_TIMEOUT = 60


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # -W error: a ResourceWarning (leaked pool, socket, file) makes the command fail.
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "corepool.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="session")
def corepool_command() -> Callable[..., subprocess.CompletedProcess[str]]:
    return _run
