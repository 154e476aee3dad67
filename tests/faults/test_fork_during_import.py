"""A worker forked while another parent thread is importing a module can still import it.

Under ``fork`` the child inherits the half-run module and an import lock owned by a thread it
does not have; without the repair in ``_lifecycle/interrupted_imports.py`` the worker's first
``import`` of that module waits forever.  Here a parent thread is held inside a module's import
while a pool forks its worker, and the worker imports the same module.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import corepool

GATE = """
import os
import threading

parent_pid = os.getpid()
entered = threading.Event()
release = threading.Event()
"""

SLOW_MODULE = """
import os

import corepool_test_import_gate as gate

if os.getpid() == gate.parent_pid:  # only the parent's import stops half way
    gate.entered.set()
    gate.release.wait(30)
ANSWER = 42
"""


def _import_and_read(name: str) -> int:
    return int(importlib.import_module(name).ANSWER)


@pytest.fixture
def half_imported(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "corepool_test_import_gate.py").write_text(GATE)
    (tmp_path / "corepool_test_slow_module.py").write_text(SLOW_MODULE)
    sys.path.insert(0, str(tmp_path))
    gate = importlib.import_module("corepool_test_import_gate")
    importer = threading.Thread(
        target=importlib.import_module, args=("corepool_test_slow_module",), daemon=True
    )
    importer.start()
    assert gate.entered.wait(10), "the importing thread never started its import"
    try:
        yield "corepool_test_slow_module"
    finally:
        gate.release.set()
        importer.join(10)
        sys.path.remove(str(tmp_path))
        for name in ("corepool_test_slow_module", "corepool_test_import_gate"):
            sys.modules.pop(name, None)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: fork with threads
def test_a_worker_forked_mid_import_imports_the_module_afresh(half_imported: str) -> None:
    with corepool.Pool(1, context=multiprocessing.get_context("fork")) as pool:
        result = pool.apply_async(_import_and_read, (half_imported,))
        assert result.get(timeout=20) == 42
