"""One measured run, in a fresh interpreter: ``python -m sidebyside.child '<json spec>'``.

The spec names a workload, one of its rows and the prepared parameters.  The last line printed is
``RESULT <json>``: what the runner returned, plus this process's peak RSS and its start-up time.
A fresh interpreter per run means no run inherits another's workers, forkserver, caches or heap.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any

from sidebyside.memory import peak_rss_mb

RESULT_PREFIX = "RESULT "


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"sidebyside.workloads.{spec['workload']}")
    row = module.WORKLOAD.row(spec["row"])
    result = dict(row.run(spec["params"]))
    result.setdefault("peak_rss_mb", peak_rss_mb())
    return result


def main() -> None:
    spec = json.loads(sys.argv[1])
    started = time.perf_counter()
    result = run_spec(spec)
    result["child_seconds"] = time.perf_counter() - started
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
