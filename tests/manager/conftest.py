"""The ``programs`` fixture: separate Python programs, killed and reaped after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from manager_programs import Programs


@pytest.fixture
def programs() -> Iterator[Programs]:
    started = Programs()
    yield started
    started.close()
