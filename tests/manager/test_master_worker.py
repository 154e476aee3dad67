"""The master-worker over a manager, as separate programs on 127.0.0.1.

The classic programs (written for ``multiprocessing.managers``) run on corepool with only their
imports changed; corepool's example (``examples/master_worker.py``) loses no task when a worker
is killed in the middle of one.
"""

from __future__ import annotations

import re
from pathlib import Path

from manager_programs import REPOSITORY, Programs, finish, read_address, read_line

EXAMPLE = str(REPOSITORY / "examples" / "master_worker.py")

# The classic shape: the master exposes a task queue and a result queue, the workers connect.
# (Module-level getters rather than lambdas, so the server process may be forked or spawned.)
CLASSIC_MASTER = """\
import queue
from multiprocessing.managers import BaseManager

task_queue = queue.Queue()
result_queue = queue.Queue()

def get_task_queue():
    return task_queue

def get_result_queue():
    return result_queue

class QueueManager(BaseManager):
    pass

QueueManager.register('get_task_queue', callable=get_task_queue)
QueueManager.register('get_result_queue', callable=get_result_queue)

if __name__ == '__main__':
    manager = QueueManager(address=('127.0.0.1', 0), authkey=b'abc')
    manager.start()
    print('serving at %s:%d' % manager.address, flush=True)
    task = manager.get_task_queue()
    result = manager.get_result_queue()
    for n in range(10):
        task.put(n)
    for worker in range(2):
        task.put(None)
    workers_left = 2
    while workers_left:  # a worker's None says it needs the server no more
        r = result.get(timeout=30)
        if r is None:
            workers_left -= 1
        else:
            print('Result: %s' % r)
    manager.shutdown()
    print('master exit.')
"""

CLASSIC_WORKER = """\
import sys
import multiprocessing.managers

class QueueManager(multiprocessing.managers.BaseManager):
    pass

QueueManager.register('get_task_queue')
QueueManager.register('get_result_queue')

if __name__ == '__main__':
    m = QueueManager(address=('127.0.0.1', int(sys.argv[1])), authkey=b'abc')
    m.connect()
    task = m.get_task_queue()
    result = m.get_result_queue()
    while (n := task.get()) is not None:
        result.put('%d * %d = %d' % (n, n, n * n))
    result.put(None)
    print('worker exit.')
"""


def switch_imports(program: str) -> str:
    """Change import lines only: multiprocessing becomes corepool."""
    switched = []
    for line in program.splitlines():
        if line == "import multiprocessing.managers":
            switched.append("import corepool as multiprocessing")
        else:
            switched.append(
                re.sub(
                    r"^from multiprocessing(\.managers)? import", r"from corepool\1 import", line
                )
            )
    return "\n".join(switched) + "\n"


def write_switched(program: str, path: Path) -> str:
    switched = switch_imports(program)
    changed = [
        (old, new)
        for old, new in zip(program.splitlines(), switched.splitlines(), strict=True)
        if old != new
    ]
    assert changed
    assert all("import" in old and "import" in new for old, new in changed)
    path.write_text(switched)
    return str(path)


def test_the_classic_master_and_two_workers_run_with_only_their_imports_changed(
    programs: Programs, tmp_path: Path
) -> None:
    master = programs.start(write_switched(CLASSIC_MASTER, tmp_path / "task_master.py"))
    _, port = read_address(master)
    worker_program = write_switched(CLASSIC_WORKER, tmp_path / "task_worker.py")
    workers = [programs.start(worker_program, str(port)) for _ in range(2)]
    for worker in workers:
        assert "worker exit." in finish(worker)
    output = finish(master)
    results = sorted(line for line in output.splitlines() if line.startswith("Result: "))
    assert results == sorted(f"Result: {n} * {n} = {n * n}" for n in range(10))
    assert "master exit." in output


def test_a_task_held_by_a_killed_worker_is_done_by_the_other_worker(programs: Programs) -> None:
    key = {"MASTER_WORKER_KEY": "5e" * 32}
    master = programs.start(EXAMPLE, "serve", "--tasks", "6", "--lease", "1", env=key)
    host, port = read_address(master)
    # The first worker stalls in its first task (600 s of "work") until it is killed.
    stalled = programs.start(EXAMPLE, "work", host, str(port), "--seconds-per-task", "600", env=key)
    held = int(read_line(stalled, "").rsplit(" ", 1)[1])
    steady = programs.start(EXAMPLE, "work", host, str(port), "--seconds-per-task", "0", env=key)
    stalled.kill()
    stalled.communicate(timeout=30)

    output = finish(master)
    assert f"task {held} back on the board" in output
    results = [line for line in output.splitlines() if re.match(r"task \d+: ", line)]
    assert results == [f"task {i}: {i * 7} * {i * 7} = {i * 7 * i * 7}" for i in range(6)]
    assert "all 6 tasks done" in output
    assert f"took task {held}" in finish(steady)
