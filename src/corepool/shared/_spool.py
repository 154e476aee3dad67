"""Where a process keeps the files behind the shared objects it owns, and who removes them.

Every process that creates a shared object (a ``Dict``, a ``List``, a ``SharedArray``, the segment
carrying a large task argument) gets one *spool*: a directory on a memory-backed file system,
``/dev/shm/corepool-<pid>-<start time>``.  The process owns everything inside it.

    owner process                                   watcher (/bin/sh, its own session)
    ─────────────                                   ───────────────────────────────────
    spool_directory()  mkdir /dev/shm/corepool-…  ┐
                       pipe: write end kept here, │  read end ──▶ `read` blocks until end-of-file
                       never inherited            ┘                then `rm -rf <spool>`
    closes an object   removes its file(s) itself
    exits normally     atexit: removes the spool, closes the pipe ──▶ EOF (nothing left to remove)
    is killed          the kernel closes the pipe ──────────────────▶ EOF → removes the spool

The watcher is a shell, not Python: it starts in ~1 ms and holds ~1 MB.  It is started in its own
session (Ctrl-C in a terminal does not reach it) and is orphaned at once, so it never shows up
among the owner's children.  A forked child does not inherit the owner's spool: it forgets it
(closing its copy of the pipe) and makes its own if it needs one.

The name is derived from the pid and the kernel's start time of the process, so another process
can find a live process's spool without being told (see ``spool_of``), and a recycled pid never
gets an old spool.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading

__all__ = ["shared_root", "spool_directory", "spool_of"]

_ROOT_ENV = "COREPOOL_SHARED_DIR"
_WATCHER_SCRIPT = '( exec 0<&3 3<&-; read -r _; exec rm -rf -- "$1" ) &'

_lock = threading.Lock()
_spool: str | None = None
_pipe_write_end: int | None = None


def shared_root() -> str:
    """The directory spools live in: ``$COREPOOL_SHARED_DIR``, else ``/dev/shm``, else temp.

    ``/dev/shm`` is a tmpfs (memory) on Linux; the temp directory is the fallback elsewhere.
    """
    configured = os.environ.get(_ROOT_ENV)
    if configured:
        return configured
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            fields = stat_file.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19])  # field 22 of proc(5); fields[0] is field 3


def spool_of(pid: int) -> str | None:
    """The spool directory of live process ``pid``, if it has one."""
    started = process_start_time(pid)
    if started is None:
        return None
    path = os.path.join(shared_root(), f"corepool-{pid}-{started}")
    return path if os.path.isdir(path) else None


def spool_directory() -> str:
    """This process's spool, created (with its watcher) on first use."""
    global _spool
    spool = _spool
    if spool is not None:
        return spool
    with _lock:
        if _spool is None:
            _spool = _create_spool()
        return _spool


def _create_spool() -> str:
    pid = os.getpid()
    started = process_start_time(pid)
    suffix = str(started) if started is not None else os.urandom(6).hex()
    path = os.path.join(shared_root(), f"corepool-{pid}-{suffix}")
    if os.path.isdir(path):  # left by a watcher that has not run yet: never ours to reuse
        shutil.rmtree(path, ignore_errors=True)
    os.mkdir(path, 0o700)
    _start_watcher(path)
    atexit.register(_remove_spool)
    return path


def _start_watcher(path: str) -> None:
    global _pipe_write_end
    read_end, write_end = os.pipe()
    try:
        shell = os.posix_spawn(
            "/bin/sh",
            ["sh", "-c", _WATCHER_SCRIPT, "corepool-spool-watcher", path],
            os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 3)],
            setsid=True,
        )
        os.waitpid(shell, 0)  # the shell exits at once, leaving the orphaned watcher
    except OSError as error:  # no /bin/sh: the spool is still removed at a normal exit
        os.close(write_end)
        print(
            f"corepool: no spool watcher ({error}); a killed process may leave {path}",
            file=sys.stderr,
        )
    else:
        _pipe_write_end = write_end
    finally:
        os.close(read_end)


def _remove_spool() -> None:
    global _spool, _pipe_write_end
    with _lock:
        spool, _spool = _spool, None
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
        if _pipe_write_end is not None:
            os.close(_pipe_write_end)
            _pipe_write_end = None


def _forget_after_fork() -> None:
    # The child owns nothing of its parent's: drop the spool without touching it, and close the
    # inherited pipe end so the watcher still sees end-of-file when the parent dies.
    global _spool, _pipe_write_end, _lock
    _lock = threading.Lock()
    if _pipe_write_end is not None:
        try:
            os.close(_pipe_write_end)
        except OSError:
            pass
    _spool = None
    _pipe_write_end = None


os.register_at_fork(after_in_child=_forget_after_fork)
