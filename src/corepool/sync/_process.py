"""Who this process is, and whether another process is still alive.

``PID`` and ``TOKEN`` are refreshed in a forked child.  ``TOKEN`` is random, so "held by
(TOKEN, thread ident)" cannot be confused with a holder that died and whose pid the kernel
handed to a new process.
"""

from __future__ import annotations

import os
import secrets

PID = os.getpid()
TOKEN = secrets.randbits(62) | 1


def _refresh() -> None:
    global PID, TOKEN
    PID = os.getpid()
    TOKEN = secrets.randbits(62) | 1


os.register_at_fork(after_in_child=_refresh)


def is_alive(pid: int) -> bool:
    """Whether ``pid`` names a running process (a zombie, dead but not yet reaped, is not)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[-1].split()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to signal 0, which counts zombies as alive
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return bool(fields) and fields[0] not in (b"Z", b"X")
