"""The zygote's side: a fork server that is a fork of the program itself.

    control socket ─▶ b"F" + native thread cap, and fds (data pipe's read end, status and pid
                      pipes' write ends, the fds the worker's Process pickle refers to)
                      │ cap the native pools loaded here (OpenBLAS), then fork
                      ├─▶ worker: spawn._main(data pipe) — prepare, unpickle the Process, run it
                      ├─▶ pid pipe ◀─ the worker's pid, at once
                      └─▶ status pipe ◀─ its exit code, when it is reaped

The pid has a pipe of its own so that the program need not wait for it: it sends the requests
for a pool's workers one after another and reads a pid only when it needs one, while the status
pipe, the worker's sentinel, becomes readable only when the worker ended.

This runs in the process ``zygote.Zygote.start`` forked while the program had one thread, so
it has the program's modules and no other thread's locks.  It ends when the control socket
reports end-of-file (the program closed it or died) and its last worker was reaped, so that
every worker's exit code still reaches the program.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal.py's C half, no stubs
import importlib
import os
import select
import signal
import socket
import stat
import sys
from multiprocessing import spawn
from typing import NoReturn

from corepool._lifecycle.process_start import WORKER_MODULE
from corepool._lifecycle.zygote import REQUEST, SIGNED
from corepool._worker.native_threads import cap_before_fork, preload_for_forks

# More than any Process pickle needs (a worker's boot passes 3: channel, lifeline, board).
MAX_FDS = 64

received_fds: list[int] = []
"""In a worker: the fds its Process pickle refers to (``zygote_start.ZygoteFd`` indexes them)."""


def serve(control: socket.socket, keep: tuple[int, ...]) -> NoReturn:
    """Run the zygote (in the freshly forked process, told to go: ``zygote._become_zygote``);
    never returns.

    ``sys.path`` becomes the program's as ``spawn.prepare`` gives it to a worker (``''`` made the
    program's first directory): set once here, a worker needs it only if the program changes it.
    """
    code = 1
    try:
        sys.path = spawn.get_preparation_data("zygote")["sys_path"]
        wake_r, wake_w = _prepare(control, keep)
        # The worker's loop, which the program did not import (``_worker/boot.py``): here, on
        # another core while the program starts its pool, and once for every worker forked.
        importlib.import_module(WORKER_MODULE)
        preload_for_forks()
        _loop(control, wake_r, wake_w)
        code = 0
    except BaseException:  # noqa: BLE001 - reported, then the zygote exits
        sys.excepthook(*sys.exc_info())
    finally:
        os._exit(code)


def _prepare(control: socket.socket, keep: tuple[int, ...]) -> tuple[int, int]:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the program's
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # its wakeup fd is what wakes the loop
    signal.set_wakeup_fd(wake_w)
    from multiprocessing import util

    util._close_stdin()  # type: ignore[attr-defined]
    _let_go_of_pipes_and_sockets({control.fileno(), wake_r, wake_w, *keep})
    return wake_r, wake_w


def _let_go_of_pipes_and_sockets(keep: set[int]) -> None:
    """Point every inherited pipe and socket at /dev/null.

    The zygote lives as long as the program: holding the write end of a pipe would keep its
    reader from ever seeing end-of-file (a subprocess waiting for its stdin to close, a pool's
    lifeline), holding a socket would keep a connection or a port open.  /dev/null rather than
    closing: a stale file object of the program's that a worker still uses must not write into
    whatever later takes the same fd number.  Regular files and terminals stay.
    """
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            if fd <= 2 or fd == null or fd in keep:
                continue
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                continue  # the listing's own fd, gone by now
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                os.dup2(null, fd, inheritable=os.get_inheritable(fd))
    finally:
        os.close(null)


def _loop(control: socket.socket, wake_r: int, wake_w: int) -> None:
    children: dict[int, int] = {}  # pid -> write end of its status pipe
    poller = select.poll()
    poller.register(wake_r, select.POLLIN)
    poller.register(control, select.POLLIN)
    accepting = True
    while accepting or children:
        ready = {fd for fd, _ in poller.poll()}
        if wake_r in ready:
            _drain(wake_r)
            _reap(children)
        if accepting and control.fileno() in ready:
            accepting = _fork_one(control, children, (wake_r, wake_w))
            if not accepting:
                poller.unregister(control)


def _fork_one(control: socket.socket, children: dict[int, int], wake: tuple[int, int]) -> bool:
    """Serve one request; False once the program closed the control socket."""
    try:
        message, fds, _, _ = socket.recv_fds(control, REQUEST.size, MAX_FDS)
        while message and len(message) < REQUEST.size:  # a stream: the rest may come apart
            more = control.recv(REQUEST.size - len(message))
            if not more:
                break
            message += more
    except OSError:
        return False
    if len(message) < REQUEST.size or len(fds) < 3:
        for fd in fds:
            os.close(fd)
        return False
    data_r, status_w, pid_w, *inherited = fds
    cap_before_fork(REQUEST.unpack(message)[1] or None)
    pid = os.fork()
    if pid == 0:
        os.close(pid_w)
        _become_worker(control, wake, children, data_r, inherited)
    try:
        write_signed(pid_w, pid)
    except OSError:
        pass  # the program gave up on this start; the worker reads EOF and exits
    children[pid] = status_w
    for fd in (data_r, pid_w, *inherited):
        os.close(fd)
    return True


def _reap(children: dict[int, int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status_w = children.pop(pid, None)
        if status_w is not None:
            try:
                write_signed(status_w, os.waitstatus_to_exitcode(status))
            except OSError:
                pass
            os.close(status_w)


def _become_worker(
    control: socket.socket,
    wake: tuple[int, int],
    children: dict[int, int],
    data_r: int,
    inherited: list[int],
) -> NoReturn:
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        # _signal's, not signal.signal: see worker_process_main.
        _signal.signal(signal.SIGCHLD, _signal.SIG_DFL)
        _signal.signal(signal.SIGINT, _signal.default_int_handler)
        control.close()
        for fd in (*wake, *children.values()):
            os.close(fd)
        received_fds[:] = inherited
        from multiprocessing import spawn

        code = spawn._main(data_r, os.dup(data_r))
    except BaseException:  # noqa: BLE001 - as multiprocessing's forkserver does
        sys.excepthook(*sys.exc_info())
        sys.stderr.flush()
    finally:
        os._exit(code)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def write_signed(fd: int, value: int) -> None:
    os.write(fd, SIGNED.pack(value))  # 8 bytes: atomic on a pipe
