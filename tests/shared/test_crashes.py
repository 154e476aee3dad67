"""Killed writers, readers and owners: the store stays consistent and nothing is left behind."""

from __future__ import annotations

import multiprocessing.context
import os
import signal

import pytest
import shared_children as children

import corepool
from corepool.shared import memory
from corepool.shared._environment import DEFAULT_MAX_BYTES
from corepool.shared.shared_dict import Dict

Context = multiprocessing.context.BaseContext


def _start(context: Context, target: object, *args: object) -> multiprocessing.process.BaseProcess:
    process = context.Process(target=target, args=args)  # type: ignore[attr-defined]
    process.start()
    return process


def _kill(process: multiprocessing.process.BaseProcess) -> None:
    os.kill(process.pid, signal.SIGKILL)  # type: ignore[arg-type]
    process.join(30)
    assert process.exitcode == -signal.SIGKILL
    process.close()


def test_writer_killed_mid_transaction_leaves_the_dict_consistent(mp_context: Context) -> None:
    with corepool.Dict({"counter": 10, "kept": "yes"}) as shared:
        half_written = mp_context.Event()
        writer = _start(mp_context, children.hold_transaction_then_wait, shared, half_written)
        assert half_written.wait(30)
        _kill(writer)  # while it holds the write lock, with half a transaction written
        assert shared.copy() == {"counter": 10, "kept": "yes"}  # none of it is visible
        assert shared.increment("counter") == 11  # the lock was recovered
        shared["after"] = 1
        assert shared.copy() == {"counter": 11, "kept": "yes", "after": 1}


def test_reader_killed_mid_read_leaves_the_dict_usable(mp_context: Context) -> None:
    with corepool.Dict({"a": 1}) as shared:
        reading = mp_context.Event()
        reader = _start(mp_context, children.read_forever, shared, reading)
        assert reading.wait(30)
        _kill(reader)
        for round_ in range(200):  # rewrites reuse pages; a dead reader's slot is reclaimed
            shared["a"] = round_
        assert shared["a"] == 199


def test_a_killed_owners_store_lives_while_another_process_holds_it(mp_context: Context) -> None:
    names = mp_context.Queue()
    owner = _start(mp_context, children.create_and_report, "Dict", names, True)
    name = names.get(timeout=30)
    attached = Dict._attach(name, memory.current_janitor() or "", DEFAULT_MAX_BYTES)
    assert attached["made"] == "by child"
    _kill(owner)
    memory.settle()
    assert os.path.isdir(name)  # this process still holds it
    attached["after"] = "the owner died"
    assert attached.copy() == {"made": "by child", "after": "the owner died"}
    attached.close()
    memory.settle()
    assert not os.path.exists(name)  # its last holder let go
    names.close()
    names.join_thread()


@pytest.mark.parametrize("kind", ["Dict", "List"])
@pytest.mark.parametrize("ending", ["exits", "is killed"])
def test_an_owner_alone_leaves_nothing_when_it_ends(
    mp_context: Context, kind: str, ending: str
) -> None:
    names = mp_context.Queue()
    owner = _start(mp_context, children.create_and_report, kind, names, ending == "is killed")
    name = names.get(timeout=30)
    if ending == "is killed":
        _kill(owner)
    else:
        owner.join(30)
        assert owner.exitcode == 0
        owner.close()
    memory.settle()  # the janitor has seen the owner's connection close
    assert not os.path.exists(name)
    names.close()
    names.join_thread()
