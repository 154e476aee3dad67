"""Every example in examples/ runs to completion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("example", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(example: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=110, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip()
