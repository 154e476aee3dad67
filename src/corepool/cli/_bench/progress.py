"""Progress while ``corepool bench`` runs, on standard error (standard output keeps the report).

One step is a pool started or a map timed.  In a terminal with tqdm installed the steps move one
bar (the current step in its postfix); otherwise each step is one line, so that a log file or a
CI job shows them readably instead of a bar's carriage returns.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol, TextIO


class Steps(Protocol):
    def note(self, line: str) -> None:
        """A line that is not a step (calibrating, a skipped backend)."""

    def done(self, line: str) -> None:
        """One step finished; ``line`` says which and how long it took."""

    def close(self) -> None: ...


class SilentSteps:
    def note(self, line: str) -> None:
        pass

    def done(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass


class LineSteps:
    """``  [ 3/40] cpu threads x2: 1.402 s``: one line per step."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self._total, self._done, self._stream = total, 0, stream

    def note(self, line: str) -> None:
        print(f"  {line}", file=self._stream, flush=True)

    def done(self, line: str) -> None:
        self._done += 1
        width = len(str(self._total))
        print(f"  [{self._done:>{width}}/{self._total}] {line}", file=self._stream, flush=True)

    def close(self) -> None:
        pass


class BarSteps:
    """One tqdm bar over every step."""

    def __init__(self, total: int, stream: TextIO) -> None:
        from tqdm import tqdm

        self._stream = stream
        self._bar: Any = tqdm(total=total, desc="corepool bench", unit="step", file=stream)

    def note(self, line: str) -> None:
        self._bar.write(f"  {line}", file=self._stream)

    def done(self, line: str) -> None:
        self._bar.set_postfix_str(line, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _columns(stream: TextIO) -> int:
    """The terminal's width; 0 for a pseudo-terminal nobody sized (``script`` in a pipeline),
    where tqdm would draw a bar of no width at all."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):  # no real file behind the stream: a test's
        return 80


def open_steps(total: int, quiet: bool, stream: TextIO | None = None) -> Steps:
    """Silent, a bar (a terminal, and tqdm installed) or a line per step."""
    stream = sys.stderr if stream is None else stream
    if quiet:
        return SilentSteps()
    if stream.isatty() and _columns(stream) > 0:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            pass
        else:
            return BarSteps(total, stream)
    return LineSteps(total, stream)
