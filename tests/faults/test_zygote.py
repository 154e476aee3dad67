"""The zygote (corepool's default fork server, forked from the program): when it is used, what
it holds, and that crashes, deaths and signals behave through it as without it.

Each test runs a program in a fresh interpreter (``support.processes.start_program``): the test
process itself has pytest's watchdog thread, so its own pools never fork a zygote.
"""

from __future__ import annotations

import os
import signal
import textwrap

import psutil
import pytest

from support.processes import read_worker_pids, start_program, wait_for_line, wait_gone

pytestmark = pytest.mark.timeout(60)

_REPORT = """
from corepool._lifecycle.zygote import ZYGOTE

def parent_pid(_):
    return os.getppid()

def exit_with(code):
    os._exit(code)

def kill_self(signum):
    os.kill(os.getpid(), signum)

def parents(pool):
    return sorted(set(pool.map(parent_pid, range(8), chunksize=1)))
"""


def _run(body: str) -> tuple[str, str]:
    program = start_program(_REPORT + textwrap.dedent(body))
    out, err = program.communicate(timeout=50)
    assert program.returncode == 0, err
    return out, err


def _values(out: str, prefix: str) -> list[str]:
    lines = [line for line in out.splitlines() if line.startswith(prefix)]
    assert lines, out
    return lines[-1].split()[1:]


def test_workers_of_every_pool_come_from_one_zygote_forked_from_the_program() -> None:
    out, _ = _run(
        """
        for _ in range(3):
            with corepool.Pool(2) as pool:
                print("PARENTS", *parents(pool), flush=True)
                print("ZYGOTE", ZYGOTE.pid, os.getpid(), flush=True)
        print("METHOD", corepool.get_start_method())
        """
    )
    parents = {line for line in out.splitlines() if line.startswith("PARENTS")}
    zygote, program = _values(out, "ZYGOTE")
    assert parents == {f"PARENTS {zygote}"}, out  # the same zygote, every pool
    assert zygote != program
    assert _values(out, "METHOD") == ["forkserver"]


@pytest.mark.parametrize(
    "setup",
    [
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()",
        "corepool.set_start_method('forkserver')",
        "shared = corepool.SharedArray(16)",
    ],
    ids=["another-thread", "forkserver-chosen", "shared-memory-held"],
)
def test_no_zygote_where_it_would_not_be_harmless(setup: str) -> None:
    out, _ = _run(
        f"""
        import threading
        {setup}
        with corepool.Pool(2) as pool:
            print("PARENTS", *parents(pool), flush=True)
        print("ZYGOTE", ZYGOTE.pid, flush=True)
        """
    )
    assert _values(out, "ZYGOTE") == ["None"]
    # multiprocessing's forkserver serves instead: still not the program's own children
    assert str(os.getpid()) not in _values(out, "PARENTS")


def test_a_native_pool_that_stops_for_a_fork_does_not_keep_the_zygote_away() -> None:
    # NumPy's OpenBLAS starts a thread per core at import and joins them in a pthread_atfork
    # handler: through the fork the program has one thread, so the zygote serves, and its
    # workers have NumPy without importing it (the forkserver's would import it per worker).
    pytest.importorskip("numpy")
    out, _ = _run(
        """
        import warnings
        warnings.simplefilter("error")  # Python 3.12+ warns of a fork that leaves threads
        import numpy

        def product(_):
            return "numpy" in sys.modules, float((numpy.ones((64, 64)) @ numpy.ones(64))[0])

        def blas_threads(_):
            from threadpoolctl import threadpool_info
            pools = threadpool_info()
            return [lib["num_threads"] for lib in pools if lib["internal_api"] == "openblas"]

        def threads(_):
            return len(os.listdir("/proc/self/task"))

        with corepool.Pool(2) as pool:
            print("PARENTS", *parents(pool), flush=True)
            print("WORKER_THREADS", *set(pool.map(threads, range(4), chunksize=1)), flush=True)
            print("PRODUCT", *set(pool.map(product, range(4), chunksize=1)), flush=True)
            print("BLAS", *pool.map(blas_threads, range(2), chunksize=1)[0], flush=True)
        with corepool.Pool(2, native_threads=None) as pool:
            print("OWN", *pool.map(blas_threads, range(2), chunksize=1)[0], flush=True)
        with corepool.Pool(2) as pool:
            print("AGAIN", *pool.map(blas_threads, range(2), chunksize=1)[0], flush=True)
        print("ZYGOTE", ZYGOTE.pid, flush=True)
        print("CORES", len(os.sched_getaffinity(0)), flush=True)
        print("PROGRAM", *blas_threads(0), flush=True)
        """
    )
    # On one core OpenBLAS starts no thread of its own: what follows holds all the same.
    zygote = _values(out, "ZYGOTE")[0]
    assert zygote != "None"
    assert _values(out, "PARENTS") == [zygote]
    assert _values(out, "PRODUCT") == ["(True,", "64.0)"]
    # Capped at cores / workers in each worker, by the zygote before the fork: OpenBLAS's threads
    # are not started again in a worker that has run no BLAS call (capping there restarted them).
    cores = int(_values(out, "CORES")[0])
    assert _values(out, "WORKER_THREADS") == ["1"]
    assert _values(out, "BLAS") == [str(max(1, cores // 2))]
    assert _values(out, "OWN") == _values(out, "PROGRAM")  # uncapped: OpenBLAS's own count
    assert _values(out, "AGAIN") == [str(max(1, cores // 2))]


def test_a_native_thread_that_lives_through_the_fork_keeps_the_zygote_away() -> None:
    # A thread the fork does not stop might hold a lock the zygote would then hold forever: the
    # zygote born that way exits before serving, is reaped, and the forkserver serves.
    out, _ = _run(
        """
        import ctypes, warnings
        import psutil
        warnings.simplefilter("error")  # Python 3.12+ warns of a fork that leaves threads
        libc = ctypes.CDLL(None)
        thread = ctypes.c_ulong()
        sleep = ctypes.cast(libc.sleep, ctypes.c_void_p)  # the thread runs sleep(60), no Python
        assert libc.pthread_create(ctypes.byref(thread), None, sleep, ctypes.c_void_p(60)) == 0
        with corepool.Pool(2) as pool:
            print("PARENTS", *parents(pool), flush=True)
            print("AGAIN", *parents(pool), flush=True)
        print("ZYGOTE", ZYGOTE.pid, "BORN", ZYGOTE._threads_stayed, flush=True)
        zombies = [c for c in psutil.Process().children() if c.status() == psutil.STATUS_ZOMBIE]
        print("ZOMBIES", len(zombies), flush=True)
        """
    )
    assert _values(out, "ZYGOTE") == ["None", "BORN", "True"]  # born, then given up at once
    assert _values(out, "ZOMBIES") == ["0"]
    assert str(os.getpid()) not in _values(out, "PARENTS")


def test_a_pipe_the_program_holds_is_not_kept_open_by_the_zygote() -> None:
    out, _ = _run(
        """
        import subprocess
        cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        with corepool.Pool(2) as pool:
            pool.map(tasks.identity, range(4))
            cat.stdin.close()  # cat sees end-of-file only if no other process holds the pipe
            print("CAT", cat.wait(timeout=20), ZYGOTE.pid is not None, flush=True)
        """
    )
    assert _values(out, "CAT") == ["0", "True"]


@pytest.mark.parametrize("death", ["exit", "signal"])
def test_a_worker_death_is_attributed_through_the_zygote(death: str) -> None:
    task = "exit_with, (7,)" if death == "exit" else "kill_self, (signal.SIGKILL,)"
    out, _ = _run(
        f"""
        with corepool.Pool(2) as pool:
            try:
                pool.apply({task})
            except corepool.WorkerLostError as error:
                print("LOST", error.exitcode, error.signal_name, flush=True)
            print("AFTER", pool.apply(tasks.identity, (5,)), ZYGOTE.pid is not None, flush=True)
        """
    )
    expected = ["7", "None"] if death == "exit" else [str(-signal.SIGKILL), "SIGKILL"]
    assert _values(out, "LOST") == expected
    assert _values(out, "AFTER") == ["5", "True"]


def test_a_killed_program_leaves_neither_zygote_nor_workers() -> None:
    program = start_program(
        _REPORT
        + textwrap.dedent(
            """
        with corepool.Pool(2) as pool:
            report_workers(pool)
            print("ZYGOTE", ZYGOTE.pid, flush=True)
            pool.map(tasks.sleep_then, [30] * 4, chunksize=1)
        """
        )
    )
    workers = read_worker_pids(program)
    zygote = int(wait_for_line(program, "ZYGOTE").split()[1])
    assert psutil.Process(workers[0]).ppid() == zygote
    program.kill()
    program.communicate(timeout=30)
    wait_gone([*workers, zygote], timeout=10)


def test_a_worker_starts_with_what_the_program_changed_since_the_zygotes_birth(
    tmp_path: pytest.TempPathFactory,
) -> None:
    # A worker forked by the zygote is set up only with what differs from the zygote's birth:
    # what the program changed after its first pool must still reach the workers of later ones.
    module_dir = tmp_path / "later"  # type: ignore[operator]
    module_dir.mkdir()
    (module_dir / "added_later.py").write_text("def where(_):\n    return 'found'\n")
    out, _ = _run(
        f"""
        import sys

        def state(_):
            return os.getcwd(), sys.argv[1:], sys.path[-1]

        with corepool.Pool(2) as pool:
            print("BEFORE", *pool.map(state, [0])[0][0:1], flush=True)
            zygote = ZYGOTE.pid
        os.chdir({str(module_dir)!r})
        sys.argv.append("extra")
        sys.path.append({str(module_dir)!r})
        import added_later
        with corepool.Pool(2) as pool:
            cwd, argv, last = pool.map(state, [0])[0]
            print("CWD", cwd, flush=True)
            print("ARGV", *argv, flush=True)
            print("PATH", last, flush=True)
            print("IMPORT", pool.apply(added_later.where, (0,)), flush=True)
            print("SAME", ZYGOTE.pid == zygote, flush=True)
        """
    )
    assert _values(out, "CWD") == [str(module_dir)]
    assert _values(out, "ARGV") == ["extra"]
    assert _values(out, "PATH") == [str(module_dir)]
    assert _values(out, "IMPORT") == ["found"]
    assert _values(out, "SAME") == ["True"]


def test_a_worker_is_sent_only_the_preparation_that_changed_since_the_zygotes_birth() -> None:
    # The rest it has from the zygote; its name it is always sent.  A "" on the program's
    # sys.path (the current directory) a worker has as the program's first directory.
    out, _ = _run(
        """
        sys.path.insert(0, "")

        def first_path(_):
            return sys.path[0]

        with corepool.Pool(2) as pool:
            print("PROGRAM", repr(sys.path[0]), "WORKER", pool.map(first_path, [0])[0], flush=True)
        print("UNCHANGED", *sorted(ZYGOTE.changed_preparation("w")), flush=True)
        os.chdir("/")
        sys.argv.append("extra")
        print("CHANGED", *sorted(ZYGOTE.changed_preparation("w")), flush=True)
        """
    )
    assert _values(out, "PROGRAM") == ["''", "WORKER", os.getcwd()]
    assert _values(out, "UNCHANGED") == ["name"]
    assert _values(out, "CHANGED") == ["dir", "name", "sys_argv"]


def test_workers_launched_ahead_that_no_pool_adopts_are_killed_and_reaped() -> None:
    # A pool asks the zygote for its workers before its engine exists (ProcessBackend.launch_ahead);
    # should the engine never take them (it failed to start), closing the backend ends them.
    out, _ = _run(
        """
        import time
        import psutil
        from corepool._backends.base import BackendOptions
        from corepool._backends.registry import create_backend
        from corepool.settings import DEFAULT_SETTINGS

        with corepool.Pool(1) as pool:
            pool.apply(abs, (1,))
        zygote = psutil.Process(ZYGOTE.pid)
        me = psutil.Process()
        fds = me.num_fds()
        backend = create_backend("processes", BackendOptions(3, DEFAULT_SETTINGS))
        deadline = time.monotonic() + 20
        while len(zygote.children()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        print("AHEAD", len(zygote.children()), flush=True)
        backend.close()
        print("LEFT", len(zygote.children()), me.num_fds() - fds, flush=True)
        """
    )
    assert _values(out, "AHEAD") == ["3"]
    assert _values(out, "LEFT") == ["0", "0"]
