"""The zygote's part in capping native thread pools never costs it its life: a failure to find
or cap them is reported, and the workers then cap them themselves (``_worker/native_threads``)."""

from __future__ import annotations

import pytest

from corepool._worker import native_threads


def _broken(*_: object) -> None:
    raise RuntimeError("no such library")


def test_a_failed_cap_before_a_fork_is_reported_and_the_fork_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(native_threads, "_openblas_own", 2)  # as if the zygote had found it
    monkeypatch.setattr(native_threads, "_openblas_of", _broken)
    native_threads.cap_before_fork(1)  # does not raise
    error = capsys.readouterr().err
    assert "could not cap native threads: RuntimeError('no such library')" in error
    assert native_threads._openblas_cap is None  # so the worker caps OpenBLAS itself


def test_a_failed_look_up_is_reported_and_leaves_the_workers_to_cap(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(native_threads, "_native_pool_loaded", lambda: True)  # NumPy, say
    monkeypatch.setattr(native_threads, "_new_controller", _broken)
    native_threads.preload_for_forks()  # does not raise
    assert "could not look up native thread pools" in capsys.readouterr().err
    assert native_threads._controller is None  # so a worker finds and caps the pools itself


def test_without_a_look_up_there_is_nothing_to_cap_before_a_fork() -> None:
    assert native_threads._openblas_own is None  # this process never looked
    native_threads.cap_before_fork(1)  # nothing loaded to cap: a no-op
    assert native_threads._openblas_cap is None
