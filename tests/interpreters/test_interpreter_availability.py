"""Where this Python has no subinterpreters, the pool says at once what would provide them.

This file runs on every Python (the folder's other tests need subinterpreters).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

import corepool
from corepool._backends import interpreters


def test_the_error_names_the_version_or_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def without_interpreters(name: str, package: str | None = None) -> ModuleType:
        if name in ("concurrent.interpreters", "backports.interpreters"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", without_interpreters)
    with pytest.raises(ImportError) as caught:
        corepool.Pool(2, backend="interpreters")
    expected = "needs Python 3.13+" if sys.version_info < (3, 13) else "backports-interpreters"
    assert expected in str(caught.value)
    assert "pip install 'corepool[interpreters]'" in str(caught.value)
    assert interpreters.unavailable_reason() == str(caught.value)
