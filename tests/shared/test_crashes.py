"""Killed writers, readers and owners: the store stays consistent and nothing is left behind."""

from __future__ import annotations

import multiprocessing.context
import os
import signal

import psutil
import pytest
import shared_children as children

import corepool
from corepool.shared._store import DEFAULT_MAX_BYTES
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


def test_a_killed_owners_files_are_removed(mp_context: Context) -> None:
    names = mp_context.Queue()
    owner = _start(mp_context, children.create_and_report, "Dict", names, True)
    name = names.get(timeout=30)
    attached = Dict._attach(name, DEFAULT_MAX_BYTES)
    assert attached["made"] == "by child"
    _kill(owner)
    _wait_for_spool_removal(name)
    assert not os.path.exists(name)
    assert attached["made"] == "by child"  # a process that had it open keeps its copy
    attached.close()
    names.close()
    names.join_thread()


@pytest.mark.parametrize("kind", ["Dict", "List"])
def test_an_owner_that_exits_removes_its_files(mp_context: Context, kind: str) -> None:
    names = mp_context.Queue()
    owner = _start(mp_context, children.create_and_report, kind, names, False)
    name = names.get(timeout=30)
    owner.join(30)
    assert owner.exitcode == 0
    owner.close()
    _wait_for_spool_removal(name)  # atexit, or the watcher when the child ends with _exit
    assert not os.path.exists(name)
    names.close()
    names.join_thread()


def _wait_for_spool_removal(name: str) -> None:
    """The spool watcher of a dead owner removes its files; wait for that process to end."""
    spool = os.path.dirname(name)
    watchers = [
        process
        for process in psutil.process_iter(["cmdline"])
        if spool in (process.info["cmdline"] or [])
    ]
    psutil.wait_procs(watchers, timeout=30)
