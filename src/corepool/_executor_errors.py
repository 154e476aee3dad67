"""The errors of ``corepool.errors`` that derive from ``concurrent.futures``' own classes.

They are public as ``corepool.errors.<name>`` (their ``__module__`` says so, which is also where
pickle looks them up) and load from here on first use, so that importing corepool does not import
``concurrent.futures`` (see the end of ``errors.py``).
"""

from __future__ import annotations

import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures.thread import BrokenThreadPool

from corepool.errors import CorepoolError, _signal_name


class WorkerLostError(CorepoolError, BrokenProcessPool):
    """The worker running a task died (crash, ``os._exit``, a signal, the OOM killer).

    Also a ``concurrent.futures.process.BrokenProcessPool``, what the standard executor raises
    then; unlike it, corepool replaces the worker and the pool stays usable.

    Attributes name the task (``task``: the call and, for a map, the item index), the worker's
    ``pid``, how it ended: ``exitcode`` (positive: exit status; negative: killed by that signal)
    and ``signal_name`` when a signal ended it, and ``stage``: what the worker was doing with the
    task (``"running"``, ``"unpickling the call"`` or ``"pickling the result"``).
    """

    def __init__(
        self,
        task: str,
        pid: int | None,
        exitcode: int | None,
        detail: str = "",
        stage: str = "running",
    ) -> None:
        self.task = task
        self.pid = pid
        self.exitcode = exitcode
        self.signal_name = _signal_name(exitcode)
        self.stage = stage
        self.detail = detail
        how = (
            f"was killed by {self.signal_name}"
            if self.signal_name
            else f"exited with code {exitcode}"
            if exitcode is not None
            else "was lost"
        )
        doing = "running" if stage == "running" else f"{stage} of"
        text = f"the worker (pid {pid}) {how} while {doing} {task}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.task, self.pid, self.exitcode, self.detail, self.stage))


class TaskCancelledError(CorepoolError, concurrent.futures.CancelledError):
    """The task was cancelled (by ``terminate()``, ``cancel()`` or an abandoned iterator).

    A ``concurrent.futures.CancelledError``, so code that handles cancelled futures handles it.
    """


class InitializerError(CorepoolError, BrokenProcessPool, BrokenThreadPool):
    """A worker's ``initializer`` raised, so the pool cannot start workers.

    The initializer's own exception is ``__cause__``.  corepool does not respawn such workers in
    a loop: pending and future tasks fail with this error until the pool is closed.  Also a
    ``BrokenProcessPool`` and a ``BrokenThreadPool``, what the standard executors raise then.
    """


class WorkerStartError(CorepoolError, BrokenProcessPool):
    """Worker processes keep dying before they are ready, so the pool cannot run tasks.

    Raised for pending and new tasks after several workers in a row exited during start-up (the
    start method cannot import something, the machine refuses new processes...).  The workers'
    own error output, on the parent's stderr, says why.  Also a ``BrokenProcessPool``.
    """


for _kind in (WorkerLostError, TaskCancelledError, InitializerError, WorkerStartError):
    _kind.__module__ = "corepool.errors"
