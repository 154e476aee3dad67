"""``progress=``: a tqdm bar, or a ``(done, total)`` callable, on every map-family call."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import corepool
from support import faults, tasks


class Recorder:
    """A progress callable that keeps every ``(done, total)`` it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int | None) -> None:
        with self._lock:
            self.calls.append((done, total))

    @property
    def last(self) -> tuple[int, int | None]:
        return self.calls[-1]

    def check_monotonic(self) -> None:
        done = [call[0] for call in self.calls]
        assert done == sorted(done)


def numbers(count: int) -> Iterator[int]:
    yield from range(count)


CALLS: dict[str, Callable[[corepool.Pool, Recorder], object]] = {
    "map": lambda pool, rec: pool.map(tasks.square, range(300), progress=rec),
    "map_async": lambda pool, rec: pool.map_async(tasks.square, range(300), progress=rec).get(30),
    "starmap": lambda pool, rec: pool.starmap(
        tasks.add, [(n, n) for n in range(300)], progress=rec
    ),
    "starmap_async": lambda pool, rec: pool.starmap_async(
        tasks.add, [(n, 1) for n in range(300)], progress=rec
    ).get(30),
    "imap": lambda pool, rec: list(pool.imap(tasks.square, numbers(300), progress=rec)),
    "imap_unordered": lambda pool, rec: list(
        pool.imap_unordered(tasks.square, numbers(300), chunksize=7, progress=rec)
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_progress_callable_sees_every_task_done(pool: corepool.Pool, call: str) -> None:
    recorder = Recorder()
    CALLS[call](pool, recorder)
    recorder.check_monotonic()
    assert recorder.last == (300, 300)


def test_executor_map_reports_progress(make_executor: Callable[..., Any]) -> None:
    recorder = Recorder()
    executor = make_executor()
    assert list(executor.map(tasks.square, numbers(50), progress=recorder)) == [
        x * x for x in range(50)
    ]
    assert recorder.last == (50, 50)


def test_failed_tasks_count_as_done(pool: corepool.Pool) -> None:
    recorder = Recorder()
    results = pool.imap(tasks.fail_on, range(10), chunksize=1, progress=recorder)
    outcomes = []
    for _ in range(10):
        try:
            outcomes.append(next(results))
        except ValueError:
            outcomes.append("failed")
    assert outcomes.count("failed") == 1
    assert recorder.last == (10, 10)


def test_a_retried_task_counts_once(
    make_pool: Callable[..., corepool.Pool], backend: str, tmp_path: Any
) -> None:
    if backend != "processes":
        pytest.skip("the retried fault kills a worker process; a thread cannot be killed")
    pool = make_pool(2, retries=1)
    recorder = Recorder()
    marker = str(tmp_path / "crashed-once")
    values = pool.starmap(
        faults.crash_once, [(marker, n) for n in range(20)], chunksize=1, progress=recorder
    )
    assert values == list(range(20))
    assert recorder.last == (20, 20)
    assert max(call[0] for call in recorder.calls) == 20


def test_an_unknown_length_becomes_known_when_the_input_ends(pool: corepool.Pool) -> None:
    recorder = Recorder()
    assert len(list(pool.imap(tasks.square, numbers(40), chunksize=10, progress=recorder))) == 40
    assert recorder.calls[0][1] is None or recorder.calls[0][1] == 40
    assert recorder.last == (40, 40)


def test_a_bad_progress_option_raises_at_the_call(pool: corepool.Pool) -> None:
    with pytest.raises(TypeError, match="progress must be"):
        pool.map(tasks.square, [1], progress="yes")  # type: ignore[arg-type]


def test_a_bar_is_drawn_on_stderr(pool: corepool.Pool, capsys: pytest.CaptureFixture[str]) -> None:
    assert pool.map(tasks.square, range(100), progress=True) == [x * x for x in range(100)]
    drawn = capsys.readouterr().err
    assert "100/100" in drawn and "100%" in drawn
    assert "map(square)" in drawn


PROGRAM = """
import corepool, time

def slow(x):
    time.sleep(0.02)
    return x

if __name__ == "__main__":
    with corepool.Pool(2) as pool:
        assert pool.map(slow, range(60), chunksize=1, progress=True) == list(range(60))
    print("finished")
"""


def test_a_bar_updates_in_place_in_a_real_terminal(tmp_path: Any) -> None:
    script = tmp_path / "bar.py"
    script.write_text(PROGRAM)
    controller, terminal = pty.openpty()
    # A terminal 24 rows by 100 columns (a fresh pty has none, and tqdm then draws nothing).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    child = subprocess.Popen(
        [sys.executable, str(script)], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    screen = _read_until_exit(controller, child, deadline=time.monotonic() + 50)
    assert child.returncode == 0, screen
    assert "finished" in screen
    assert "60/60" in screen and "task/s" in screen
    assert screen.count("\r") >= 2, "the bar should redraw itself in place"


def _read_until_exit(fd: int, child: subprocess.Popen[bytes], deadline: float) -> str:
    chunks: list[bytes] = []
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif child.poll() is not None:
                break
    finally:
        os.close(fd)
        child.wait(timeout=10)
    return b"".join(chunks).decode(errors="replace")


def test_without_tqdm_the_error_says_what_to_install(tmp_path: Any) -> None:
    blocker = tmp_path / "tqdm.py"
    blocker.write_text("raise ImportError('tqdm is not installed here')\n")
    program = (
        "import corepool\n"
        "try:\n"
        "    corepool.ThreadPool(1).map(abs, [1], progress=True)\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", program],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=50,
    )
    assert "pip install 'corepool[progress]'" in out.stdout, out.stderr
