"""Subinterpreter workers (``backend="interpreters"``).

Every test here runs only where this Python has subinterpreters with their own GIL (3.14+, or
3.13 with ``backports-interpreters``); elsewhere the folder is skipped with the reason, which
names what would provide them, except for the test of that very message.  The suite-wide
``make_pool`` builds interpreter pools here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corepool._backends.interpreters import unavailable_reason

_HERE = Path(__file__).parent
_UNAVAILABLE = unavailable_reason()
_EVERYWHERE = {"test_interpreter_availability.py"}  # what the pool says where there are none


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _UNAVAILABLE is None:
        return
    skip = pytest.mark.skip(reason=f"no subinterpreters: {_UNAVAILABLE}")
    for item in items:
        if _HERE in item.path.parents and item.path.name not in _EVERYWHERE:
            item.add_marker(skip)


@pytest.fixture
def backend() -> str:
    return "interpreters"
