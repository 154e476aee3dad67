"""How fast a lost worker is noticed, and how fast orphans go when the parent is killed.

Side by side with ``multiprocessing.Pool`` and ``concurrent.futures.ProcessPoolExecutor``
(forkserver for all, 2 workers), each measured in a child program of its own:

* worker killed: a task sleeps in a worker; the worker is sent SIGKILL; measured is the time
  until the waiting ``get()`` / ``result()`` in the parent raises.  ``multiprocessing.Pool``
  never raises (it replaces the worker and the task is lost): the run gives up after ``GIVE_UP``.
  Also checked: whether the pool then runs a new task.
* parent killed: the parent is sent SIGKILL while its workers run long tasks; measured is the
  time until every worker process is gone (orphans otherwise, given up after ``GIVE_UP``).

Run: ``python benchmarks/bench_faults.py`` (about 40 s).  Writes benchmarks/results/faults.md.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

GIVE_UP = 5.0
REPEAT = 5
KINDS = ("corepool", "multiprocessing", "concurrent.futures")

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    kind, scenario, give_up = sys.argv[1], sys.argv[2], float(sys.argv[3])

    def nap(seconds, mark=None):
        if mark:  # say which worker runs this task
            with open(mark, "w") as file:
                file.write(str(os.getpid()))
        time.sleep(seconds)
        return os.getpid()

    def start():
        if kind == "corepool":
            import corepool
            pool = corepool.Pool(2)
            return pool, pool.apply_async, [w.pid for w in pool.statistics().workers]
        if kind == "multiprocessing":
            import multiprocessing
            pool = multiprocessing.get_context("forkserver").Pool(2)
            return pool, pool.apply_async, [p.pid for p in pool._pool]
        import concurrent.futures, multiprocessing
        pool = concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("forkserver"))
        for f in [pool.submit(nap, 0) for _ in range(4)]:
            f.result()
        return pool, (lambda fn, args: pool.submit(fn, *args)), list(pool._processes)

    def wait(handle, timeout):
        return handle.get(timeout) if hasattr(handle, "get") else handle.result(timeout)

    if __name__ == "__main__":
        pool, submit, pids = start()
        if scenario == "parent":
            handles = [submit(nap, (60,)) for _ in range(2)]
            time.sleep(0.3)
            print("PIDS", *pids, flush=True)
            time.sleep(60)
        mark = f"{sys.argv[4]}.{os.getpid()}"
        handle = submit(nap, (60, mark))
        while not os.path.exists(mark) or not open(mark).read():
            time.sleep(0.001)
        victim = int(open(mark).read())
        os.unlink(mark)
        time.sleep(0.1)  # the task is well inside its sleep
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        try:
            wait(handle, give_up)
            outcome = "returned"
        except Exception as error:
            outcome = type(error).__name__
        raised = time.monotonic()
        try:
            wait(submit(nap, (0,)), give_up)
            after = "works"
        except Exception as error:
            after = type(error).__name__
        print("RESULT", raised - killed, outcome, after, flush=True)
        os._exit(0)
    """
)


def worker_killed(kind: str, script: Path) -> tuple[float, str, str]:
    done = subprocess.run(
        [sys.executable, str(script), kind, "worker", str(GIVE_UP), str(script)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    _, seconds, outcome, after = line.split()
    _reap_strays()
    return float(seconds), outcome, after


def parent_killed(kind: str, script: Path) -> float:
    child = subprocess.Popen(
        [sys.executable, str(script), kind, "parent", str(GIVE_UP), str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    pids = [int(p) for p in child.stdout.readline().split()[1:]]
    killed = time.monotonic()
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    while any(_alive(pid) for pid in pids):
        if time.monotonic() - killed > GIVE_UP:
            for pid in pids:  # orphans: end them, so the next run starts clean
                _kill(pid)
            return float("inf")
        time.sleep(0.001)
    return time.monotonic() - killed


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap_strays() -> None:
    for child in psutil.Process().children(recursive=True):
        _kill(child.pid)


def _ms(values: list[float]) -> str:
    finite = [v for v in values if v != float("inf")]
    if len(finite) < len(values):
        return (
            f"never ({len(values) - len(finite)}/{len(values)} runs gave up after {GIVE_UP:.0f} s)"
        )
    return f"{statistics.median(values) * 1e3:.0f} ms (max {max(values) * 1e3:.0f})"


def main() -> None:
    script = Path(__file__).resolve().parent / "results" / "_faults_child.py"
    script.write_text(CHILD)
    try:
        lost: dict[str, list[tuple[float, str, str]]] = {kind: [] for kind in KINDS}
        orphans: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(REPEAT):
            for kind in KINDS:
                lost[kind].append(worker_killed(kind, script))
                orphans[kind].append(parent_killed(kind, script))
    finally:
        script.unlink()
    lines = [
        "# A worker killed, the parent killed: noticed how fast, and what is left",
        "",
        f"Command: `python benchmarks/bench_faults.py` ({REPEAT} runs each, interleaved; "
        f"2 workers, forkserver; Python {sys.version.split()[0]}).",
        "",
        "| pool | worker SIGKILLed: the waiting call raises after | it raises | a new task then "
        "| parent SIGKILLed: workers gone after |",
        "|---|---|---|---|---|",
    ]
    for kind in KINDS:
        seconds = [r[0] if r[1] != "TimeoutError" else float("inf") for r in lost[kind]]
        outcomes = sorted({r[1] for r in lost[kind]})
        afters = sorted({r[2] for r in lost[kind]})
        lines.append(
            f"| {kind} | {_ms(seconds)} | {', '.join(outcomes)} | {', '.join(afters)} "
            f"| {_ms(orphans[kind])} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(__file__).resolve().parent / "results" / "faults.md").write_text(text)


if __name__ == "__main__":
    main()
