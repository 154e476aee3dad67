"""Ctrl-C, SIGTERM and SIGKILL to a program that runs a pool: prompt, quiet, and no orphans."""

from __future__ import annotations

import signal
import time

import pytest

import corepool
from support.processes import read_worker_pids, start_program, wait_for_line, wait_gone

WAITS = {
    "map": "pool.map(tasks.sleep_then, [30] * 4, chunksize=1)",
    "imap": "list(pool.imap(tasks.sleep_then, [30] * 4, chunksize=1))",
    "get": "pool.apply_async(tasks.sleep_then, (30,)).get()",
    "result": "executor.submit(tasks.sleep_then, 30).result()",
}


def _program(wait: str) -> str:
    if wait == "result":
        return f"""
        with corepool.ProcessPoolExecutor(2) as executor:
            print("WORKERS", *[w.pid for w in executor.statistics().workers], flush=True)
            print("WAITING", flush=True)
            {WAITS[wait]}
        """
    return f"""
    with corepool.Pool(2) as pool:
        report_workers(pool)
        print("WAITING", flush=True)
        {WAITS[wait]}
    """


@pytest.mark.parametrize("wait", list(WAITS))
def test_ctrl_c_while_waiting(wait: str) -> None:
    program = start_program(_program(wait))
    pids = read_worker_pids(program)
    wait_for_line(program, "WAITING")
    time.sleep(0.2)  # not synchronisation: lets the parent enter its wait, the case under test
    sent = time.monotonic()
    program.send_signal(signal.SIGINT)
    _, stderr = program.communicate(timeout=30)
    elapsed = time.monotonic() - sent
    assert program.returncode != 0
    assert stderr.count("KeyboardInterrupt") == 1, stderr
    assert stderr.count("Traceback (most recent call last)") == 1, stderr
    # Generous bound: this catches a hang, the benchmark measures the real latency.
    assert elapsed < 10, f"took {elapsed:.1f} s to stop"
    wait_gone(pids, timeout=5)


def test_sigterm_ends_the_program_and_its_workers() -> None:
    program = start_program(_program("map"))
    pids = read_worker_pids(program)
    wait_for_line(program, "WAITING")
    program.send_signal(signal.SIGTERM)
    program.communicate(timeout=30)
    assert program.returncode == 128 + signal.SIGTERM
    wait_gone(pids, timeout=5)


def test_sigkill_of_the_parent_leaves_no_orphans() -> None:
    program = start_program(_program("map"))
    pids = read_worker_pids(program)
    wait_for_line(program, "WAITING")
    program.kill()
    program.communicate(timeout=30)
    wait_gone(pids, timeout=2.0)


def test_sigkill_of_the_parent_ends_nested_pools_too() -> None:
    program = start_program(
        """
        def nested(_):
            with corepool.Pool(2) as inner:
                print("NESTED", *[w.pid for w in inner.statistics().workers], flush=True)
                inner.map(tasks.sleep_then, [30] * 2, chunksize=1)

        with corepool.Pool(1) as pool:
            report_workers(pool)
            pool.apply(nested, (None,))
        """
    )
    pids = read_worker_pids(program)
    nested = [int(pid) for pid in wait_for_line(program, "NESTED").split()[1:]]
    program.kill()
    program.communicate(timeout=30)
    wait_gone(pids + nested, timeout=4.0)


def test_sigterm_handler_is_installed_and_restored() -> None:
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    pool = corepool.Pool(1)
    try:
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        pool.close()
        pool.join()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_handler_of_the_program_is_left_alone() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with corepool.Pool(1) as pool:
            assert signal.getsignal(signal.SIGTERM) is mine
            pool.apply(time.sleep, (0,))
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_process_forked_while_a_pool_runs_exits_normally() -> None:
    import multiprocessing

    with corepool.Pool(1) as pool:
        pool.apply(time.sleep, (0,))
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
        child.start()
        child.join(30)
        assert child.exitcode == 0
        # ... and multiprocessing's terminate() still ends a forked child by SIGTERM, even when
        # the signal arrives while the child is still being born (repeated to catch that race).
        for _ in range(20):
            sleeper = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
            sleeper.start()
            sleeper.terminate()
            sleeper.join(30)
            assert sleeper.exitcode == -signal.SIGTERM


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "left running"])
def test_a_pool_collected_as_the_interpreter_tears_its_modules_down_is_quiet(closed: bool) -> None:
    # At exit, Python clears the modules' globals (to None) in the reverse order of their
    # imports: a pool held by a module registered before corepool's is collected after corepool's
    # modules lost theirs.  Its finalizer must need none of them (as multiprocessing.Pool's).
    ending = "holder.pool.close(); holder.pool.join()" if closed else ""
    program = start_program(
        f"""
        import types
        holder = sys.modules["holder"] = types.ModuleType("holder")
        import corepool._engine.engine  # its globals cleared before the holder's
        holder.pool = corepool.Pool(2)
        report_workers(holder.pool)
        assert holder.pool.apply(abs, (-1,)) == 1
        {ending}
        del holder
        """
    )
    pids = read_worker_pids(program)
    _, stderr = program.communicate(timeout=30)
    assert program.returncode == 0, stderr
    assert stderr == ""
    wait_gone(pids, timeout=5)
