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
