"""Programs run as separate processes for the manager-server tests (master, workers), always
killed and reaped, and the serving address they report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


class Programs:
    """Starts Python programs with piped output; ``close()`` kills and reaps what still runs."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[str]] = []

    def start(self, *arguments: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        program = subprocess.Popen(
            [sys.executable, *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._started.append(program)
        return program

    def close(self) -> None:
        for program in self._started:
            if program.poll() is None:
                program.kill()
            program.communicate(timeout=30)


def read_line(program: subprocess.Popen[str], prefix: str) -> str:
    """The first line of ``program``'s output that starts with ``prefix`` (the test's deadline
    bounds the wait)."""
    assert program.stdout is not None
    for line in program.stdout:
        if line.startswith(prefix):
            return line.strip()
    _, error = program.communicate(timeout=30)
    raise AssertionError(f"the program ended without printing {prefix!r}; stderr:\n{error}")


def read_address(program: subprocess.Popen[str]) -> tuple[str, int]:
    """The address in a ``serving at HOST:PORT`` line."""
    host, port = read_line(program, "serving at ").removeprefix("serving at ").rsplit(":", 1)
    return host, int(port)


def finish(program: subprocess.Popen[str], timeout: float = 30) -> str:
    """Wait for ``program`` to end successfully; its remaining output."""
    output, error = program.communicate(timeout=timeout)
    assert program.returncode == 0, error
    return output
