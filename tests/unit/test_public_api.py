"""The curated public API: every name in __all__ resolves, and nothing else leaks in."""

from __future__ import annotations

import subprocess
import sys

import corepool


def test_all_matches_the_export_table() -> None:
    assert sorted(corepool.__all__) == sorted(corepool._EXPORTS)


def test_every_public_name_resolves() -> None:
    for name in corepool.__all__:
        assert getattr(corepool, name) is not None, name


def test_unknown_names_raise_attribute_error() -> None:
    try:
        corepool.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_light() -> None:
    code = (
        "import sys, corepool; "
        "print(sorted(m for m in ('asyncio', 'cloudpickle', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_corepool_stands_in_for_concurrent() -> None:
    import concurrent.futures

    import corepool as concurrent_stand_in

    assert concurrent_stand_in.futures.ProcessPoolExecutor is corepool.ProcessPoolExecutor
    assert concurrent_stand_in.futures.as_completed is concurrent.futures.as_completed
    assert concurrent_stand_in.futures.Future is concurrent.futures.Future


def test_process_is_a_multiprocessing_process_with_the_programs_start_method() -> None:
    import multiprocessing

    assert issubclass(corepool.Process, multiprocessing.process.BaseProcess)
    assert corepool.get_context("spawn").Process._start_method == "spawn"
    assert corepool.current_process is multiprocessing.current_process
