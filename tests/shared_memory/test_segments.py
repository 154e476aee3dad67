"""Segments: pickled by name into any process, held while used, unlinked once nobody holds them."""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys

import pytest

import corepool
from corepool.errors import SegmentGoneError
from corepool.shared import memory
from corepool.shared.memory import Segment

pytestmark = pytest.mark.timeout(60)


def on_dev_shm(name: str) -> bool:
    return os.path.exists("/dev/shm" + name)


def write_byte(segment: Segment, index: int, value: int) -> int:
    segment.buf[index] = value
    return segment.buf[0]


def make_segment(content: bytes) -> Segment:
    segment = Segment.create(len(content))
    segment.buf[:] = content
    return segment


# -- within one process


def test_new_segment_is_zeroed_and_sized() -> None:
    with Segment.create(10_000) as segment:
        assert segment.size == 10_000
        assert len(segment.buf) == 10_000
        assert bytes(segment.buf[:16]) == bytes(16)
        assert segment.created
        assert on_dev_shm(segment.name)


def test_unpickling_in_the_same_process_returns_the_same_object() -> None:
    segment = Segment.create(64)
    assert pickle.loads(pickle.dumps(segment)) is segment
    segment.close()


def test_attach_by_name_shares_bytes() -> None:
    segment = Segment.create(64)
    segment.buf[3] = 42
    assert Segment.attach(segment.name) is segment
    segment.close()


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "10"])
def test_bad_sizes_are_refused(size: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        Segment.create(size)  # type: ignore[arg-type]


def test_close_unlinks_when_nobody_else_holds_it() -> None:
    segment = Segment.create(64)
    name = segment.name
    segment.close()
    assert segment.closed
    memory.settle()
    assert not on_dev_shm(name)


def test_garbage_collection_releases_the_hold() -> None:
    name = Segment.create(64).name
    gc.collect()
    memory.settle()
    assert not on_dev_shm(name)


def test_unlink_ends_the_segment_early_but_keeps_the_mapping() -> None:
    segment = Segment.create(64)
    segment.unlink()
    memory.settle()
    assert not on_dev_shm(segment.name)
    segment.buf[0] = 7  # still mapped here
    assert segment.buf[0] == 7
    blob = pickle.dumps(segment)
    segment.close()
    with pytest.raises(SegmentGoneError, match="no longer exists"):
        pickle.loads(blob)


def test_pickling_a_closed_segment_is_refused() -> None:
    segment = Segment.create(8)
    segment.close()
    with pytest.raises(ValueError, match="closed"):
        pickle.dumps(segment)


def test_direct_construction_is_refused() -> None:
    with pytest.raises(TypeError, match="create"):
        Segment()


# -- across processes


def test_child_process_writes_are_seen(mp_context: multiprocessing.context.BaseContext) -> None:
    segment = Segment.create(16)
    child = mp_context.Process(target=write_byte, args=(segment, 5, 99))  # type: ignore[attr-defined]
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert segment.buf[5] == 99
    segment.close()


@pytest.mark.parametrize("backend", ["processes", "threads"])
def test_pool_tasks_write_into_the_segment(backend: str) -> None:
    segment = Segment.create(16)
    segment.buf[0] = 1
    with corepool.Pool(2, backend=backend) as pool:
        results = pool.starmap(write_byte, [(segment, index, index * 10) for index in range(1, 8)])
    assert results == [1] * 7
    assert bytes(segment.buf[1:8]) == bytes(index * 10 for index in range(1, 8))
    segment.close()


def test_segment_returned_from_a_task_outlives_its_creator() -> None:
    # The worker drops its handle as soon as the result is pickled, and then exits: the pickle
    # in flight keeps the segment alive until the parent unpickles it.
    with corepool.Pool(1, maxtasksperchild=1) as pool:
        segment = pool.apply(make_segment, (b"from a worker",))
    assert bytes(segment.buf) == b"from a worker"
    assert not segment.created
    name = segment.name
    segment.close()
    memory.settle()
    assert not on_dev_shm(name)


def test_an_unrelated_process_attaches_from_the_pickle_and_never_unlinks() -> None:
    segment = make_segment(b"hello")
    code = (
        "import pickle, sys; s = pickle.loads(sys.stdin.buffer.read()); "
        "s.buf[0:1] = b'J'; s.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(segment),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""  # no resource_tracker warnings
    memory.settle()
    assert on_dev_shm(segment.name)  # the attacher's exit did not unlink it
    assert bytes(segment.buf) == b"Jello"
    segment.close()


def hold_and_report(segment_pickle: bytes, conn: multiprocessing.connection.Connection) -> None:
    segment = pickle.loads(segment_pickle)
    conn.send(segment.name)
    conn.recv()  # wait to be killed


def create_and_report(conn: multiprocessing.connection.Connection) -> None:
    segment = Segment.create(4096)
    conn.send(segment.name)
    conn.recv()  # wait to be killed


def test_killed_creator_leaves_nothing_behind(
    mp_context: multiprocessing.context.BaseContext,
) -> None:
    parent_end, child_end = mp_context.Pipe()  # type: ignore[attr-defined]
    child = mp_context.Process(target=create_and_report, args=(child_end,))  # type: ignore[attr-defined]
    child.start()
    name = parent_end.recv()
    assert on_dev_shm(name)
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    memory.settle()
    assert not on_dev_shm(name)
    parent_end.close()
    child_end.close()


def test_killed_attacher_does_not_unlink(mp_context: multiprocessing.context.BaseContext) -> None:
    segment = Segment.create(64)
    parent_end, child_end = mp_context.Pipe()  # type: ignore[attr-defined]
    child = mp_context.Process(  # type: ignore[attr-defined]
        target=hold_and_report, args=(pickle.dumps(segment), child_end)
    )
    child.start()
    assert parent_end.recv() == segment.name
    segment.close()
    memory.settle()
    assert on_dev_shm(segment.name)  # the child still holds it
    os.kill(child.pid, signal.SIGKILL)
    child.join(30)
    memory.settle()
    assert not on_dev_shm(segment.name)  # its last holder is gone
    parent_end.close()
    child_end.close()


def test_a_pickle_in_flight_keeps_the_segment_alive() -> None:
    segment = make_segment(b"kept")
    blob = pickle.dumps(segment)
    name = segment.name
    segment.close()
    memory.settle()
    assert on_dev_shm(name)
    revived = pickle.loads(blob)
    assert bytes(revived.buf) == b"kept"
    revived.close()
    memory.settle()
    assert not on_dev_shm(name)


def test_child_segment_lives_as_long_as_its_parent() -> None:
    parent = Segment.create(64)
    child = Segment.create(64, parent=parent)
    child_name = child.name
    child.close()
    memory.settle()
    assert on_dev_shm(child_name)
    parent.close()
    memory.settle()
    assert not on_dev_shm(child_name)


def test_no_resource_tracker_warning_when_a_process_creates_and_exits() -> None:
    code = (
        "from corepool.shared.memory import Segment; import pickle; "
        "s = Segment.create(100); t = pickle.loads(pickle.dumps(s)); s.buf[0] = 1"
    )
    command = [sys.executable, "-W", "error", "-c", code]
    done = subprocess.run(command, capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""


def test_a_name_collision_picks_another_name_and_spares_the_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours = Segment.create(8)
    prefix = ours.name.rsplit("-", 1)[0]
    foreign = f"{prefix}-{'f' * 12}"  # made outside corepool: nobody tells the janitor
    shm = importlib.import_module("_posixshmem")
    os.close(shm.shm_open(foreign, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    try:
        names = iter([ours.name.rsplit("-", 1)[-1], "f" * 12, "b" * 12])
        monkeypatch.setattr(memory.secrets, "token_hex", lambda _: next(names))
        fresh = Segment.create(8)
        assert fresh.name == f"{prefix}-{'b' * 12}"
        memory.settle()
        assert on_dev_shm(ours.name) and on_dev_shm(foreign)  # neither was unlinked
        fresh.close()
    finally:
        shm.shm_unlink(foreign)
    ours.close()
