"""``multiprocessing``'s side of a start from the zygote: the context, ``Process`` and ``Popen``
that ``Process.start()`` goes through, as for ``multiprocessing``'s forkserver.

``start_method`` hands out ``ZYGOTE_CONTEXT`` as corepool's default; a ``ZygoteProcess`` asks the
zygote (``zygote.ZYGOTE``) for a fork while it runs and ``multiprocessing``'s forkserver when it
does not.  ``ZygotePopen`` speaks forkserver's protocol: the ``Process`` pickle down a data pipe,
the pid and then the exit code up pipes of their own, so that ``multiprocessing``'s ``join``,
``terminate`` and sentinels work unchanged.
"""

from __future__ import annotations

import io
import os
import select
from multiprocessing import context as mp_context
from multiprocessing import popen_fork, reduction, util
from typing import Any

from corepool._lifecycle.zygote import ZYGOTE, ZygoteGone, read_signed


class ZygoteFd:
    """A fd the Process pickle needs, as the worker finds it (``reduction.DupFd``'s contract)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def detach(self) -> int:
        from corepool._lifecycle.zygote_server import received_fds  # loaded: this is its fork

        return received_fds[self.index]


class ZygotePopen(popen_fork.Popen):
    """``multiprocessing.popen_forkserver.Popen``, with the zygote as the server."""

    method = "forkserver"
    DupFd = ZygoteFd

    def __init__(self, process_obj: Any) -> None:
        self._fds: list[int] = []
        self._pid: int | None = None
        self._pid_r = -1
        self._exit_poll = select.poll()  # the sentinel's, registered once (see poll)
        super().__init__(process_obj)

    @property  # type: ignore[override]
    def pid(self) -> int | None:
        """Read when first needed, so that starting many workers waits for none of them (64
        workers: one round trip to the zygote each otherwise, a scheduler wake-up apiece on a
        loaded machine)."""
        if self._pid is None and self._pid_r >= 0:
            try:
                self._pid = read_signed(self._pid_r)
            except (OSError, EOFError):
                pass  # the zygote was killed before it forked: no process to signal
            finally:
                os.close(self._pid_r)
                self._pid_r = -1
        return self._pid

    @pid.setter
    def pid(self, value: int | None) -> None:
        self._pid = value

    def _send_signal(self, sig: int) -> None:
        if self.pid is not None:
            super()._send_signal(sig)  # type: ignore[misc]

    def duplicate_for_child(self, fd: int) -> int:
        self._fds.append(fd)
        return len(self._fds) - 1

    def _launch(self, process_obj: Any) -> None:
        buffer = io.BytesIO()
        preparation = ZYGOTE.changed_preparation(process_obj._name)
        mp_context.set_spawning_popen(self)  # type: ignore[arg-type]
        try:
            reduction.dump(preparation, buffer)
            reduction.dump(process_obj, buffer)
        finally:
            mp_context.set_spawning_popen(None)
        cap = getattr(process_obj, "native_threads", None)
        self.sentinel, self._pid_r, data_w = ZYGOTE.fork(self._fds, cap)
        self._exit_poll.register(self.sentinel, select.POLLIN)
        # A duplicate of the data pipe's write end stays open: the worker's parent_process()
        # sentinel, as under multiprocessing's forkserver.
        parent_w = os.dup(data_w)
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))  # type: ignore[attr-defined]
        with open(data_w, "wb", closefd=True) as data:
            data.write(buffer.getbuffer())

    def close(self) -> None:
        self.pid  # noqa: B018 - closes the pid pipe if nobody asked for the pid
        super().close()

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        if self.returncode is None:
            # One poll(2) on a poller made once, not multiprocessing.connection.wait (a selector
            # per call): every Process.start() polls every live child, 2,016 times for 64.
            if not self._exit_poll.poll(0 if flag == os.WNOHANG else None):
                return None
            try:
                self.returncode = read_signed(self.sentinel)
            except (OSError, EOFError):
                self.returncode = 255  # the zygote was killed before it could tell
        return self.returncode


class ZygoteProcess(mp_context.ForkServerProcess):
    """A forkserver Process that comes from the zygote while it runs."""

    native_threads: int | None = None
    """A worker's cap on native thread pools (``Pool(native_threads=...)``), told to the zygote."""

    hides_unimportable_main = True
    """Its start hides an unimportable ``__main__`` itself, only where it must: a worker from the
    zygote never imports the main script, so the script need not even be read (``ast``, ~5 ms
    of the first pool); one from ``multiprocessing``'s forkserver would."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # multiprocessing's name
        if ZYGOTE.running:
            try:
                return ZygotePopen(process_obj)
            except ZygoteGone:
                pass
        from multiprocessing import popen_forkserver  # with forkserver: ~3 ms the zygote saves

        from corepool._lifecycle.process_start import (
            preload_worker_module,
            unimportable_main_hidden,
        )

        preload_worker_module()
        with unimportable_main_hidden():
            return popen_forkserver.Popen(process_obj)


class ZygoteContext(mp_context.ForkServerContext):
    """corepool's default context: forkserver semantics, the zygote as the server."""

    Process = ZygoteProcess


ZYGOTE_CONTEXT = ZygoteContext()
