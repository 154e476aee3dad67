"""One lifecycle for every kind of shared object: SharedArray, Dict and List (and the segments
of large task arguments and results) live while some process holds them, and go with the last.

The module's leak check (conftest) proves that nothing is left in shared memory afterwards.
"""

from __future__ import annotations

import gc
import multiprocessing.context
import os
import pickle
import signal
import subprocess
import sys
from typing import Any

import pytest
import shared_children as children

import corepool
from corepool.shared import memory
from corepool.shared.array_transport import LARGE_BUFFER_BYTES

Context = multiprocessing.context.BaseContext


@pytest.fixture(params=["SharedArray", "Dict", "List"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "SharedArray":
        pytest.importorskip("numpy")
    return str(request.param)


def exists(shared_name: str) -> bool:
    gc.collect()  # a pool's AsyncResult sits in a reference cycle with the value it returned
    memory.settle()  # the janitor has acted on everything that happened so far
    return os.path.exists(shared_name if shared_name.count("/") > 1 else "/dev/shm" + shared_name)


def name_of(pickled: bytes) -> str:
    shared = pickle.loads(pickled)
    name = str(shared.name)
    shared.close()
    return name


def _start(context: Context, target: object, *args: object) -> Any:
    process = context.Process(target=target, args=args)  # type: ignore[attr-defined]
    process.start()
    return process


def _kill(process: Any) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    assert process.exitcode == -signal.SIGKILL
    process.close()


def short_lived_pool() -> corepool.Pool:
    return corepool.Pool(1, maxtasksperchild=1)  # every worker exits after one task


# -------------------------------------------------------------------- returned from a task


def test_returned_from_a_worker_that_exits_it_lives_on(kind: str) -> None:
    with short_lived_pool() as pool:
        shared = pool.apply(children.make_shared, (kind,))
        assert children.marker_of(shared) == 7
        assert not shared.owner  # its maker is gone; this process holds it now
        pool.apply(children.set_marker, (shared, 9))  # still passable, to a new worker
        assert children.marker_of(shared) == 9
    # (after the pool: a pool keeps its last call's arguments until it is closed)
    name = shared.name
    del shared
    assert not exists(name)  # the last holder let go


def test_large_results_of_workers_that_exit() -> None:
    np = pytest.importorskip("numpy")
    size = LARGE_BUFFER_BYTES // 8 * 2
    with short_lived_pool() as pool:
        results = [pool.apply_async(children.make_array, (size,)) for _ in range(3)]
        for result in results:
            assert np.array_equal(result.get(60), np.arange(size, dtype=np.float64))


# ----------------------------------------------------------------------- killed processes


def test_a_killed_holder_changes_nothing_for_the_others(mp_context: Context, kind: str) -> None:
    shared = children.make_shared(kind)
    ready = mp_context.Event()  # type: ignore[attr-defined]
    holder = _start(mp_context, children.attach_and_wait, shared, ready)
    assert ready.wait(30)
    _kill(holder)
    assert children.marker_of(shared) == 7
    name = shared.name
    shared.close()
    assert not exists(name)


def test_a_write_stays_when_its_writer_is_killed_right_after(
    mp_context: Context, kind: str
) -> None:
    with children.make_shared(kind) as shared:
        writer = _start(mp_context, children.kill_myself_holding, shared)
        writer.join(30)
        assert writer.exitcode == -signal.SIGKILL
        writer.close()
        assert children.marker_of(shared) == 8


def test_a_killed_maker_leaves_it_to_the_other_holders(mp_context: Context, kind: str) -> None:
    pickles = mp_context.Queue()  # type: ignore[attr-defined]
    maker = _start(mp_context, children.make_and_report, kind, pickles, True)
    shared = pickle.loads(pickles.get(timeout=30))
    _kill(maker)
    assert children.marker_of(shared) == 7 and exists(shared.name)
    children.set_marker(shared, 10)
    assert children.marker_of(shared) == 10
    name = shared.name
    shared.close()
    assert not exists(name)
    pickles.close()
    pickles.join_thread()


def test_a_killed_maker_alone_leaves_nothing(mp_context: Context, kind: str) -> None:
    pickles = mp_context.Queue()  # type: ignore[attr-defined]
    maker = _start(mp_context, children.make_and_report, kind, pickles, True)
    pickled = pickles.get(timeout=30)  # in flight: kept until unpickled
    _kill(maker)
    name = name_of(pickled)  # unpickled, then let go: nobody holds it now
    assert not exists(name)
    pickles.close()
    pickles.join_thread()


# ------------------------------------------------------------------- unrelated processes


def test_an_unrelated_process_uses_it_from_its_pickle(kind: str) -> None:
    code = (
        "import pickle, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import shared_children as children\n"
        "shared = pickle.loads(sys.stdin.buffer.read())\n"
        "children.set_marker(shared, children.marker_of(shared) + 5)\n"
    )
    with children.make_shared(kind) as shared:
        done = subprocess.run(
            [sys.executable, "-W", "error", "-c", code, os.path.dirname(children.__file__)],
            input=pickle.dumps(shared),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert done.stderr == b""
        assert children.marker_of(shared) == 12
        assert exists(shared.name)  # the other process's exit did not remove it


def test_the_owner_close_ends_it_for_everyone(kind: str) -> None:
    shared = children.make_shared(kind)
    pickled = pickle.dumps(shared)
    name = shared.name
    shared.close()
    assert not os.path.exists(name if kind != "SharedArray" else "/dev/shm" + name)  # at once
    with pytest.raises(corepool.SharedObjectClosedError, match="no longer exists"):
        pickle.loads(pickled)


# -- values that are shared objects: the store keeps them (corepool.shared._kept)


def _stored_name(value: Any) -> str:
    return value.name if isinstance(value, corepool.Dict | corepool.List) else value._segment.name


def _store_in(container: Any, value: Any) -> None:
    if isinstance(container, corepool.List):
        container.append(value)
    else:
        container[0] = value


def read_back_and_drop(container: Any) -> bool:
    value = container[0]
    return value is not None


@pytest.mark.parametrize("container_kind", ["Dict", "List"])
@pytest.mark.parametrize("value_kind", ["Queue", "Lock", "Dict"])
def test_a_shared_object_stored_in_a_dict_or_list_lives_while_its_entry_does(
    container_kind: str, value_kind: str
) -> None:
    container = getattr(corepool, container_kind)()
    value = getattr(corepool, value_kind)()
    name = _stored_name(value)
    _store_in(container, value)
    del value
    for _ in range(3):  # each read holds it and each drop lets go: the entry still names it
        assert _stored_name(container[0]) == name
        assert exists(name)
    with corepool.Pool(1, context="spawn") as pool:  # read and dropped by another process too
        assert pool.apply(read_back_and_drop, (container,))
    assert exists(name)
    container[0] = "replaced"  # the entry no longer names it: it goes
    assert not exists(name)
    container.close()


@pytest.mark.parametrize("container_kind", ["Dict", "List"])
@pytest.mark.parametrize("removal", ["del", "pop", "owner close"])
def test_a_stored_shared_object_goes_with_its_entry_or_its_store(
    container_kind: str, removal: str
) -> None:
    container = getattr(corepool, container_kind)()
    value = corepool.Queue()
    name = _stored_name(value)
    _store_in(container, value)
    del value
    if removal == "del":
        del container[0]
    elif removal == "pop":
        popped = container.pop(0)
        popped.put(1)  # the popped handle works: this process holds it now
        assert popped.get(timeout=30) == 1
        assert exists(name)
        del popped
    else:
        container.close()
    assert not exists(name)
    if not container.closed:
        container.close()
