"""Master-worker over a manager, where a worker that dies loses no task.

The classic master-worker (the master exposes a task queue and a result queue through a
``BaseManager``; workers on other machines connect and loop ``get`` / compute / ``put``) loses the
task a worker was running when that worker dies: ``get()`` already took it off the queue.  Here the
master exposes a ``TaskBoard`` instead: ``take()`` hands a task out on a *lease*, ``finish()``
brings its result back; a task whose lease runs out (its worker died, hangs, or its machine went
away) goes back on the board for another worker.  Such a task may run twice; the first result
counts, so every task has exactly one result.

    python master_worker.py                      demo: a master and 2 workers on this machine
    python master_worker.py serve [--host 127.0.0.1] [--port 0] [--tasks 20] [--lease 10]
    python master_worker.py work HOST PORT [--seconds-per-task 0.05]

The key travels in the environment variable MASTER_WORKER_KEY (hex), never on the command line,
which every user of a machine can read with ``ps``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from corepool.managers import BaseManager

KEY_VARIABLE = "MASTER_WORKER_KEY"


@dataclass(frozen=True)
class Lease:
    """Who holds a task, and until when."""

    worker: str
    expires: float


class TaskBoard:
    """The tasks, who holds which, and the results; lives in the master, reached by proxies."""

    def __init__(self, tasks: dict[int, Any], lease_seconds: float) -> None:
        self._tasks = dict(tasks)
        self._waiting: deque[int] = deque(self._tasks)
        self._leases: dict[int, Lease] = {}
        self._results: dict[int, Any] = {}
        self._lease_seconds = lease_seconds
        self._changed = threading.Condition()

    def take(self, worker: str) -> tuple[int, Any] | None:
        """The next task, leased to ``worker``; None once every task has its result."""
        with self._changed:
            while True:
                next_expiry = self._reclaim_expired()
                if self._waiting or self._all_done():
                    break
                self._changed.wait(next_expiry)
            if not self._waiting:
                return None
            task_id = self._waiting.popleft()
            self._leases[task_id] = Lease(worker, time.monotonic() + self._lease_seconds)
            return task_id, self._tasks[task_id]

    def finish(self, task_id: int, result: Any) -> bool:
        """Record a result; False if the task already had one (it ran twice)."""
        with self._changed:
            self._leases.pop(task_id, None)
            if task_id in self._results:
                return False
            self._results[task_id] = result
            if task_id in self._waiting:  # its lease had run out, but its worker finished it
                self._waiting.remove(task_id)
            self._changed.notify_all()
            return True

    def wait_results(self) -> dict[int, Any]:
        """Every task's result, once all are in (reclaiming expired leases meanwhile)."""
        with self._changed:
            while not self._all_done():
                self._changed.wait(self._reclaim_expired())
            self._changed.notify_all()  # workers waiting in take() get None
            return dict(sorted(self._results.items()))

    def _all_done(self) -> bool:
        return len(self._results) == len(self._tasks)

    def _reclaim_expired(self) -> float | None:
        """Put tasks whose lease ran out back on the board; seconds until the next expiry."""
        now = time.monotonic()
        for task_id, lease in list(self._leases.items()):
            if lease.expires <= now:
                del self._leases[task_id]
                self._waiting.appendleft(task_id)
                print(f"task {task_id} back on the board: {lease.worker}'s lease ran out")
                self._changed.notify_all()
        if not self._leases:
            return None
        return max(0.0, min(lease.expires for lease in self._leases.values()) - now)


class BoardManager(BaseManager):
    """The master's manager: one registered object, the board."""


def square(n: int, seconds: float) -> str:
    time.sleep(seconds)  # stands for real work
    return f"{n} * {n} = {n * n}"


def work(host: str, port: int, key: bytes, seconds_per_task: float) -> None:
    """A worker: take a task, compute, give the result back, until the board is empty."""
    BoardManager.register("get_board")
    manager = BoardManager(address=(host, port), authkey=key)
    manager.connect()
    board = manager.get_board()  # type: ignore[attr-defined]
    name = f"{socket.gethostname()}-{os.getpid()}"
    try:
        while (task := board.take(name)) is not None:
            task_id, n = task
            print(f"{name} took task {task_id}")
            board.finish(task_id, square(n, seconds_per_task))
    except (EOFError, ConnectionError):
        print(f"{name}: the master has gone")
    print(f"{name} done")


def serve(host: str, port: int, key: bytes, tasks: int, lease: float) -> tuple[TaskBoard, Any]:
    """Put the tasks on a board and serve it from a thread of this process."""
    board = TaskBoard({task_id: task_id * 7 for task_id in range(tasks)}, lease)
    BoardManager.register("get_board", callable=lambda: board)
    server = BoardManager(address=(host, port), authkey=key).get_server()
    threading.Thread(target=server.serve_forever, name="master-manager", daemon=True).start()
    print(f"serving at {server.address[0]}:{server.address[1]}")
    return board, server.address


def report(results: dict[int, Any]) -> None:
    for task_id, result in results.items():
        print(f"task {task_id}: {result}")
    print(f"all {len(results)} tasks done")


def demo() -> None:
    """The master and two workers on this machine, the workers as separate programs."""
    key = secrets.token_bytes(32)
    board, (host, port) = serve("127.0.0.1", 0, key, tasks=10, lease=10.0)
    environment = {**os.environ, KEY_VARIABLE: key.hex()}
    command = [sys.executable, __file__, "work", host, str(port)]
    workers = [subprocess.Popen(command, env=environment) for _ in range(2)]
    report(board.wait_results())
    for worker in workers:
        worker.wait(timeout=60)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # lines reach pipes at once
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest="role")
    serving = roles.add_parser("serve", help="be the master")
    serving.add_argument("--host", default="127.0.0.1")
    serving.add_argument("--port", type=int, default=0)
    serving.add_argument("--tasks", type=int, default=20)
    serving.add_argument("--lease", type=float, default=10.0, help="seconds to hold a task")
    working = roles.add_parser("work", help="be a worker")
    working.add_argument("host")
    working.add_argument("port", type=int)
    working.add_argument("--seconds-per-task", type=float, default=0.05)
    arguments = parser.parse_args()
    if arguments.role is None:
        demo()
        return
    key = bytes.fromhex(os.environ[KEY_VARIABLE])
    if arguments.role == "work":
        work(arguments.host, arguments.port, key, arguments.seconds_per_task)
        return
    board, _ = serve(arguments.host, arguments.port, key, arguments.tasks, arguments.lease)
    report(board.wait_results())


if __name__ == "__main__":
    main()
