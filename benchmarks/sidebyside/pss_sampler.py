"""``python -m sidebyside.pss_sampler PID``: the peak summed PSS of PID's process tree.

Prints one sample at once (so the caller knows sampling has begun), then samples every 10 ms
until a line arrives on stdin, and prints the peak in MB (``memory.PeakTreePss``).  This process
is PID's child, so it leaves itself out of the sum.
"""

from __future__ import annotations

import os
import select
import sys

from sidebyside.memory import tree_pss_mb


def main() -> None:
    root = int(sys.argv[1])
    peak = tree_pss_mb(root, leave_out=os.getpid())
    print(peak, flush=True)
    while not select.select([sys.stdin], [], [], 0.01)[0]:
        peak = max(peak, tree_pss_mb(root, leave_out=os.getpid()))
    print(max(peak, tree_pss_mb(root, leave_out=os.getpid())), flush=True)


if __name__ == "__main__":
    main()
