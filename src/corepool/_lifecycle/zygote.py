"""The zygote: corepool's default fork server, forked from the program while it has one thread.

    program, first pool (its creating thread, before the pool starts any thread)
        └─ os.fork() ─▶ zygote (``zygote_server``): a copy of the program as it was then, single-
                        threaded, holding no pipe or socket of the program's
    any pool, any thread: ZygoteProcess.start() ─ request ─▶ zygote ─ fork ─▶ worker
                          (``zygote_start``: multiprocessing's side of it)

``multiprocessing``'s forkserver starts a fresh interpreter, which imports ``multiprocessing``
and corepool's worker before it can fork anything: ~85-150 ms of a program's first pool on a
2-core machine (benchmarks/results: start_first), against ~20 ms for ``fork``.  Forking the
program itself gives a server in ~2 ms with the same safety: it is forked at a moment when no
other thread exists, so it holds no lock another thread had, and every worker is forked from it,
never from the (by then multi-threaded) program.

The zygote is made only when that is harmless (``may_fork_now``): the program has no other
Python thread, holds no corepool shared memory (the zygote would hold it for the program's life),
and is small (the zygote keeps the pages the program had then, for as long as the program runs).
Native threads are judged at the fork itself (``_start``): a library whose thread pool stops for
a fork (OpenBLAS, NumPy's default BLAS, joins its threads in a ``pthread_atfork`` handler) leaves
the program with one thread through it, and the zygote serves; a thread that lived through the
fork might have held a lock the zygote now holds forever, so that zygote is killed before it does
anything, and workers come from ``multiprocessing``'s forkserver, as they do where the platform
cannot count a process's threads.  A program that chooses a start method gets that one
(``start_method``); this is only the default.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import struct
import sys
import threading
import warnings
from multiprocessing import util
from typing import Any, NoReturn

from corepool._lifecycle.main_snapshot import MainSnapshot

# What the program and the zygote say to each other.  The zygote's side (``zygote_server``) is
# loaded by the zygote alone, after it is forked: the program never runs it.
GO = b"Y"
"""The program's word that the zygote may serve: it was forked with no other thread (``_start``)."""

REQUEST = struct.Struct("=ci")
"""A fork request: b"F" and the worker's native thread cap (0: none), with its fds."""

SIGNED = struct.Struct("q")  # multiprocessing.forkserver's format: its Popen.poll reads ours

_TASKS = "/proc/self/task"


class ZygoteGone(OSError):
    """The zygote cannot be reached (it was killed); workers come from the forkserver now."""


class Zygote:
    """The program's side: the control socket, and the lock that keeps requests whole."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self.pid: int | None = None
        self.preparation: dict[str, Any] = {}
        """What ``spawn.prepare`` sets in a worker, as the zygote has it already."""
        self._threads_stayed = False
        """A native thread lived through a fork of the program: no zygote while it runs."""
        self._main = MainSnapshot()
        """What ``__main__`` held when the zygote was forked."""

    @property
    def running(self) -> bool:
        return self._control is not None

    def start_if_harmless(self, max_parent_bytes: int) -> bool:
        """Fork the zygote now if it is not running and ``may_fork_now``; True if it runs."""
        with self._lock:
            if (
                self._control is None
                and may_fork_now(max_parent_bytes)
                and not self._native_threads_stay()
            ):
                self._start()
            return self._control is not None

    def _native_threads_stay(self) -> bool:
        """A native thread lived through the last try, and the program still has one."""
        return self._threads_stayed and single_thread_count() > 1

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        keep = _resource_tracker_fds()
        # Before the fork: fixing the start method (unless the program did) gives both sides
        # the same one.
        multiprocessing.get_start_method()
        util._flush_std_streams()  # type: ignore[attr-defined] # or both would print them
        with warnings.catch_warnings():
            # Python 3.12+ warns after a fork that leaves the parent with other threads; that is
            # the very case the zygote is given up in below, so the warning would only be noise.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            ours.close()
            _become_zygote(theirs, keep)
        theirs.close()
        # Counted right after the fork, as Python counts for its warning: a pool that stops for a
        # fork is down until its next use, any other native thread is still here.
        if single_thread_count() != 1:
            self._give_up_at_birth(ours, pid)
            return
        ours.sendall(GO)
        # What the zygote holds: the program as it is here, on the thread that forked it and
        # before it returns to the program's code, so as it was at the fork.  Read after the
        # fork rather than before, so that the zygote starts sooner (``spawn``'s import and
        # these reads, ~0.5 ms, were on the way to every first pool's first task).
        preparation = _preparation_data("zygote")
        preparation["sys_argv"] = list(preparation["sys_argv"])  # compared later: not the live list
        self._control, self.pid, self.preparation = ours, pid, preparation
        self._main = MainSnapshot.take()

    def holds_by_name(self, fn: object) -> bool:
        """Whether a worker forked from the running zygote runs ``fn`` of ``__main__`` by its
        name as the program would now (``main_snapshot.MainSnapshot.holds``)."""
        return self._control is not None and self._main.holds(fn)

    def _give_up_at_birth(self, control: socket.socket, pid: int) -> None:
        """End the newborn zygote, which waits for ``GO`` before doing anything.

        Killed rather than left to read end-of-file: it was forked while a thread held who
        knows what, so nothing it would run on the way out (Python's after-fork handlers come
        first) may be waited for."""
        control.close()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)  # not left a zombie
        self._threads_stayed = True

    def changed_preparation(self, name: str) -> dict[str, Any]:
        """``spawn.get_preparation_data`` for a worker, less what the zygote already has.

        A worker forked from the zygote starts with the zygote's ``sys.path``, ``sys.argv``,
        working directory, authkey, logging and start method, which were the program's when it
        forked the zygote: ``spawn.prepare`` sets only the keys it is given, so a worker needs
        only what the program changed since (its own name always).  Unpickling and applying the
        whole set cost each worker ~0.3 ms (64 workers: ~20 ms of CPU, benchmarks/start_many).
        """
        preparation = _preparation_data(name)
        return {
            key: value
            for key, value in preparation.items()
            if key == "name" or self.preparation.get(key, _ABSENT) != value
        }

    def fork(self, fds: list[int], native_threads: int | None = None) -> tuple[int, int, int]:
        """Ask for a worker: read ends of its status and pid pipes, write end of its data pipe.

        ``native_threads``: the worker's cap on native thread pools, which the zygote applies to
        those loaded in it before the fork (``_worker/native_threads.cap_before_fork``)."""
        request = REQUEST.pack(b"F", native_threads or 0)
        data_r, data_w = os.pipe()
        status_r, status_w = os.pipe()
        pid_r, pid_w = os.pipe()
        try:
            with self._lock:
                if self._control is None:
                    raise ZygoteGone("the zygote is not running")
                try:
                    socket.send_fds(self._control, [request], [data_r, status_w, pid_w, *fds])
                except OSError as error:
                    self._lost()
                    raise ZygoteGone(f"the zygote went away: {error}") from error
        except BaseException:
            for fd in (status_r, pid_r, data_w):
                os.close(fd)
            raise
        finally:
            for fd in (data_r, status_w, pid_w):
                os.close(fd)
        return status_r, pid_r, data_w

    def _lost(self) -> None:
        if self._control is not None:
            self._control.close()
        self._control = None
        if self.pid is not None:
            try:
                os.waitpid(self.pid, os.WNOHANG)  # not left a zombie
            except ChildProcessError:
                pass
        self.pid = None

    def forget_after_fork(self) -> None:
        """In a forked child: the zygote is the parent's (a child makes its own if it needs one)."""
        self._lock = threading.Lock()
        if self._control is not None:
            self._control.close()
        self._control, self.pid = None, None


ZYGOTE = Zygote()
os.register_at_fork(after_in_child=ZYGOTE.forget_after_fork)


def _become_zygote(control: socket.socket, keep: tuple[int, ...]) -> NoReturn:
    """The newborn zygote: wait for the program's word, then serve; never returns.

    Nothing before that word, not even an import (it takes the import lock): another native
    thread may have held a lock at the fork, and then the program kills this process unheard.
    """
    code = 0  # not told to go: the program gave up on this zygote
    try:
        if control.recv(1) == GO:
            from corepool._lifecycle import zygote_server

            zygote_server.serve(control, keep)
    except BaseException:  # noqa: BLE001 - reported; the copy of the program must not go on
        sys.excepthook(*sys.exc_info())
        code = 1
    os._exit(code)


_ABSENT = object()


def _preparation_data(name: str) -> dict[str, Any]:
    # The worker is a fork of the program (through the zygote): it has the program's
    # ``__main__`` already and must never import the main script again, so the preparation
    # data does not name it (``_lifecycle.process_start.unimportable_main_hidden``).
    from multiprocessing import spawn  # not before the zygote's fork (``Zygote._start``)

    preparation: dict[str, Any] = spawn.get_preparation_data(name)
    preparation.pop("init_main_from_path", None)
    preparation.pop("init_main_from_name", None)
    return preparation


def may_fork_now(max_parent_bytes: int) -> bool:
    """No other Python thread, a platform that counts native ones (the fork is judged by them,
    ``Zygote._start``), no corepool shared memory held, and a resident size under the bound."""
    if threading.active_count() != 1 or single_thread_count() < 1:
        return False
    if _holds_shared_memory():
        return False
    return _resident_bytes() <= max_parent_bytes


def single_thread_count() -> int:
    """Threads of this process, native ones included (0: the platform cannot tell)."""
    try:
        return len(os.listdir(_TASKS))
    except OSError:
        return 0


def _holds_shared_memory() -> bool:
    # Only modules already imported are asked: one never imported holds nothing.
    janitor = sys.modules.get("corepool.shared._janitor_client")
    if janitor is not None and janitor.CLIENT.holds_anything():
        return True
    environment = sys.modules.get("corepool.shared._environment")
    return environment is not None and environment.any_open()


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 1 << 62


def _resource_tracker_fds() -> tuple[int, ...]:
    # Workers forked from the zygote report to the program's resource tracker, if it runs.
    tracker = sys.modules.get("multiprocessing.resource_tracker")
    fd = getattr(getattr(tracker, "_resource_tracker", None), "_fd", None)
    return (fd,) if isinstance(fd, int) else ()


def read_signed(fd: int) -> int:
    data = b""
    while len(data) < SIGNED.size:
        chunk = os.read(fd, SIGNED.size - len(data))
        if not chunk:
            raise EOFError("the zygote went away")
        data += chunk
    value: int = SIGNED.unpack(data)[0]
    return value
