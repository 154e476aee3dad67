"""A large array passed to Pool.map shared where it lies (``shared/_in_place.py``): when it is,
that the program sees no difference but the memory, and when it must not be.

Each test runs a program in a fresh interpreter: the test process has pytest's watchdog thread,
and a second thread is reason enough not to share in place.
"""

from __future__ import annotations

import textwrap

import pytest

from support.processes import start_program

np = pytest.importorskip("numpy")

pytestmark = pytest.mark.timeout(120)

_HELPERS = """
import gc, threading
import numpy as np
import psutil

MB = 1 << 20

def first_pages(array, index):
    return float(array[::512].sum()) + index

def from_segment(array):
    # Whether the array's middle page is mapped from one of our segments.
    middle = array.ctypes.data + array.nbytes // 2
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = (int(bound, 16) for bound in line.split()[0].split("-"))
            if low <= middle < high:
                return "/dev/shm/cp-" in line
    raise AssertionError("the array is not mapped")

def tree_pss_mb():
    me = psutil.Process()
    return sum(p.memory_full_info().pss for p in [me, *me.children(recursive=True)]) / MB

def check(pool, array, call="map"):
    expected = [first_pages(array, i) for i in range(4)]
    pairs = [(array, i) for i in range(4)]
    if call == "map":
        got = pool.starmap(first_pages, pairs)
    elif call == "map_async":
        got = pool.starmap_async(first_pages, pairs).get()
    else:
        got = list(pool.imap(lambda pair: first_pages(*pair), pairs))
    assert got == expected, (got, expected)
"""


def _run(body: str) -> str:
    program = start_program(_HELPERS + textwrap.dedent(body))
    out, err = program.communicate(timeout=100)
    assert program.returncode == 0, err
    return out


def test_a_large_array_is_shared_where_it_lies_and_behaves_as_before() -> None:
    out = _run(
        """
        with corepool.Pool(2) as pool:
            check(pool, np.full(MB, 1.0))  # starts the janitor of shared memory, a process
            before = tree_pss_mb()
            array = np.full(8 * MB, 1.5)  # 64 MB
            check(pool, array)
            print("SHARED", from_segment(array), flush=True)
            print("ADDED", round((tree_pss_mb() - before) / 64, 2), flush=True)
            # Writes are the program's own, and the next call sees them.
            array[::1000] = 2.0
            check(pool, array)
            print("WRITTEN", array[0], array[1], array[8_000_000], flush=True)
            # A forked child writes its own copy.
            child = os.fork()
            if child == 0:
                array[:] = 0.0
                os._exit(0)
            os.waitpid(child, 0)
            print("AFTER CHILD", array[1], flush=True)
            del array
            gc.collect()
            with open("/proc/self/maps") as maps:
                print("MAPPED", sum("/dev/shm/cp-" in line for line in maps), flush=True)
        """
    )
    assert "SHARED True" in out
    added = float(out.split("ADDED ")[1].split()[0])
    assert added < 1.4, f"the tree holds {added}x the array (a copy would be 2x)"
    assert "WRITTEN 2.0 1.5 2.0" in out
    assert "AFTER CHILD 1.5" in out
    assert "MAPPED 0" in out  # freeing the array let go of its segment


@pytest.mark.parametrize(
    "case",
    [
        "another thread",
        "map_async",
        "imap",
        "a view",
        "a small array",
    ],
)
def test_copied_as_before_where_a_write_could_be_lost_or_nothing_is_gained(case: str) -> None:
    out = _run(
        f"""
        case = {case!r}
        stop = threading.Event()
        if case == "another thread":
            threading.Thread(target=stop.wait).start()
        array = np.full((1 if case == "a small array" else 8) * MB, 1.5)
        if case == "a view":
            array = array[1:]
        with corepool.Pool(2) as pool:
            call = case if case in ("map_async", "imap") else "map"
            check(pool, array, call)
            print("SHARED", from_segment(array), flush=True)
        stop.set()
        """
    )
    assert "SHARED False" in out


def test_every_thread_a_pool_starts_is_one_the_in_place_check_knows() -> None:
    # The check allows corepool's own threads by name: a thread a pool starts under another
    # name would turn sharing in place off for every program (safely, but silently).
    import threading

    import corepool
    from corepool.shared import _in_place

    before = set(threading.enumerate())
    with corepool.Pool(2) as pool, corepool.Pool(2, backend="auto") as auto:
        assert pool.starmap(divmod, [(7, 2)] * 50) == [(3, 1)] * 50
        stream = pool.imap(abs, range(10_000))
        assert next(stream) == 0
        assert auto.map(abs, range(100)) == list(range(100))
        started = {thread.name for thread in set(threading.enumerate()) - before}
        stream.close()
    # Thread workers (``auto`` may choose threads) run user code: rightly not among them.
    engine = {name for name in started if not name.startswith("corepool-worker-")}
    assert "corepool-dispatcher" in engine
    assert engine <= _in_place._ENGINE_THREADS, engine - _in_place._ENGINE_THREADS
