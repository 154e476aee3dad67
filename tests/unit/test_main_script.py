"""Which ``__main__`` names a worker's copy of the main script is sure to define."""

from __future__ import annotations

import textwrap
from pathlib import Path

from corepool._wire.main_script import _top_level_names_bound_once

SCRIPT = textwrap.dedent(
    """
    import os
    from json import loads as parse

    def once(x):
        return x

    class Shape:
        def area(self):
            return 0

    def twice(x):
        return x

    async def fetch():
        return None

    if __name__ == "__main__":
        def twice(x):
            return -x

        def only_in_main_block():
            pass

        once_alias = once
    """
)


def _names(tmp_path: Path, source: str) -> frozenset[str]:
    path = tmp_path / "program.py"
    path.write_text(source)
    return _top_level_names_bound_once(str(path), path.stat().st_mtime_ns)


def test_top_level_definitions_bound_once(tmp_path: Path) -> None:
    assert _names(tmp_path, SCRIPT) == {"once", "Shape", "fetch"}


def test_a_name_rebound_anywhere_is_not_trusted(tmp_path: Path) -> None:
    source = "def f():\n    pass\n\nfor f in range(3):\n    pass\n"
    assert _names(tmp_path, source) == frozenset()
    assert _names(tmp_path, "def g():\n    pass\n\nimport os as g\n") == frozenset()


def test_a_script_that_does_not_parse_trusts_nothing(tmp_path: Path) -> None:
    assert _names(tmp_path, "def f(:\n") == frozenset()
