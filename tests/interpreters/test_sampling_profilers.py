"""A thread that samples ``sys._current_frames()`` (as Dask's profiler does, every 10 ms) beside
a pool of subinterpreters: without the guard (``_backends/frames_guard``) the process aborted
with corrupted memory in two runs out of two; with it, the pool and the sampler both go on.

The program runs in a child process, so that a crash fails this test instead of the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent(
    """
    import sys, threading, time
    import corepool

    def work(x):
        import json, decimal, fractions  # imports inside the subinterpreter, as it boots
        return sum(i * i for i in range(20000)) + x

    stop = threading.Event()
    samples = []

    def sample():
        while not stop.is_set():
            samples.append(len(sys._current_frames()))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for _ in range(6):
        with corepool.Pool(2, backend="interpreters") as pool:
            assert pool.map(work, range(40)) == [work(x) for x in range(40)]
    stop.set()
    sampler.join()
    print("samples", len(samples))
    """
)


@pytest.mark.timeout(180)
def test_a_thread_sampling_current_frames_does_not_crash_the_pool() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], check=False, capture_output=True, text=True, timeout=170
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 10  # the sampler ran too, between chunks
