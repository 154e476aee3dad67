"""Every ```python block of README.md and docs/*.md runs as written, and prints what it says.

Each block is written to a file in a fresh temporary directory and run as a script
(``python block.py``) in its own interpreter, with a deadline.  It must exit with status 0.

Expected output: a line of the block ending in ``# -> TEXT`` (normally a ``print``) says that
``TEXT`` is a whole line of the program's output.  The expected lines must appear in the output in
the order the block gives them (other output may come between them).  Comments without the arrow
are prose and are not checked.

A block that is deliberately not runnable (a fragment that names the reader's own functions, or
continues an earlier block) has ``<!-- not-run: reason -->`` on the line just before its fence;
it is reported as skipped with that reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<code>.*?)^(?P=indent)```", re.M | re.S
)
_NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>.*?)\s*-->\s*$")
_EXPECTED = re.compile(r"#\s*->\s?(?P<text>.*?)\s*$")


@dataclass(frozen=True)
class Block:
    where: str  # page:line of the fence
    code: str
    not_run: str | None  # the reason, for a block marked not-run

    def expected_lines(self) -> list[str]:
        return [m.group("text") for line in self.code.splitlines() if (m := _EXPECTED.search(line))]


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n \t").rsplit("\n", 1)[-1]
        reason = _NOT_RUN.search(before)
        found.append(
            Block(
                f"{page.relative_to(REPOSITORY)}:{line}",
                textwrap.dedent(match.group("code")),
                reason.group("reason") if reason else None,
            )
        )
    return found


BLOCKS = [block for page in PAGES for block in blocks_of(page)]


def test_the_pages_have_code_blocks() -> None:
    assert len(BLOCKS) >= 20
    assert sum(block.not_run is None for block in BLOCKS) >= 15


def _in_order(expected: list[str], output: list[str]) -> bool:
    remaining = iter(output)
    return all(any(line == wanted for line in remaining) for wanted in expected)


def test_expected_lines_must_come_in_order() -> None:
    assert _in_order(["1", "3"], ["1", "2", "3"])
    assert not _in_order(["3", "1"], ["1", "2", "3"])


@pytest.mark.timeout(150)
@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_block_runs_and_prints_what_it_says(block: Block, tmp_path: Path) -> None:
    if block.not_run is not None:
        pytest.skip(f"not-run: {block.not_run}")
    script = tmp_path / "block.py"
    script.write_text(block.code)
    completed = subprocess.run(
        [sys.executable, script.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    output = completed.stdout.splitlines()
    assert _in_order(block.expected_lines(), output), (block.expected_lines(), output)
