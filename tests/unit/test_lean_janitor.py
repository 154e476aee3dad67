"""The janitor's start imports no Python-level wrapper of the C modules it uses.

Every program's first shared object (a large task argument, a Lock, a Dict) waits for the janitor
to start: ``socket``, ``selectors``, ``signal`` and ``contextlib``, with ``enum`` and
``collections``, were ~16 ms of that start (``shared/_janitor.py``).  The script is loaded here as
the janitor runs it (``python -I -S``), without running ``main``.  No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import corepool.shared

pytestmark = pytest.mark.timeout(60)

JANITOR = Path(corepool.shared.__file__).with_name("_janitor.py")

NOT_IMPORTED = ("collections", "contextlib", "enum", "selectors", "signal", "socket", "typing")

# The janitor's file is compiled and run as its own module (``runpy`` would import what the
# janitor must not), with ``__name__`` set so that ``main`` does not run; what it imported is
# printed afterwards, with ``json`` loaded only then.
PROGRAM = """
import sys
before = set(sys.modules)
path = sys.argv[1]
exec(compile(open(path).read(), path, "exec"), {"__name__": "janitor", "__file__": path})
loaded = sorted(set(sys.modules) - before)
import json
print(json.dumps(loaded))
"""


def test_the_janitor_loads_only_c_modules() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROGRAM, str(JANITOR)],
        capture_output=True,
        text=True,
        timeout=50,
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    assert not loaded & set(NOT_IMPORTED), sorted(loaded)
