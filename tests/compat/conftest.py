"""Applies ``compat_exclusions.EXCLUDED`` to the CPython compat tests collected here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from compat_exclusions import EXCLUDED, RACE_CATEGORY, SKIPPED_CATEGORIES

HERE = Path(__file__).parent

SLOW_CLASSES = {
    "WithProcessesTestBarrier": "~83 s",
    "WithManagerTestBarrier": "~56 s",
}
"""Marked ``slow``: CI's second interpreter (3.13) leaves them out, after 3.11 has run them.

The process Barrier classes start a few hundred processes (parties x rounds); measured on this
2-core machine under load (3.11, ``--durations=0``), they are ~140 s of the ~230 s that
``test_cpython_multiprocessing.py`` takes.  What they check does not change with the
interpreter, and 3.13 still runs ``WithThreadsTestBarrier`` (the same Barrier, in one
process; ~3 s).
"""


def test_id(item: pytest.Item) -> str:
    cls = getattr(item, "cls", None)
    return f"{cls.__name__}.{item.name}" if cls is not None else item.name


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE not in item.path.parents:
            continue
        # fork() from a process with threads warns on 3.12+; CPython's suites run the fork
        # start method regardless, and so do these.
        item.add_marker(
            pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork")
        )
        # CPython's tests are written for regrtest, where a ResourceWarning is reported, not
        # raised: a test that fails half-way leaves its pool unclosed, and the warning from its
        # ``__del__`` would otherwise turn a later test (whichever runs the collection) into an
        # error.  Tests that check the warning (``test_resource_warning``) catch it themselves.
        item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))
        cls = getattr(item, "cls", None)
        if cls is not None and cls.__name__ in SLOW_CLASSES:
            item.add_marker(pytest.mark.slow)
        reason = EXCLUDED.get(test_id(item))
        if reason is None:
            continue
        if reason.startswith(SKIPPED_CATEGORIES):
            item.add_marker(pytest.mark.skip(reason=reason))
        elif reason.startswith(RACE_CATEGORY):
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
        else:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.fixture(autouse=True)
def no_orphan_processes() -> Iterator[None]:
    """CPython's classes keep a pool for the whole class (``_TestPool.setUpClass``)."""
    yield


@pytest.fixture(autouse=True)
def no_pool_left_running() -> Iterator[None]:
    """Terminate the pools and executors a test made and left running.

    A CPython test that fails half-way can leave an executor whose tasks wait for what the test
    never does (release a semaphore); like the standard executors, corepool's would then keep the
    interpreter waiting at exit, and the whole run would hang after its last test.  Engines made
    before the test (a class's pool, ``_TestPool.setUpClass``) are left alone.  Reads corepool's
    registry of engines to end at exit (``_lifecycle.exit_hooks``).
    """
    from corepool._lifecycle import exit_hooks

    before = set(exit_hooks._engines.keys())
    yield
    for engine in list(exit_hooks._engines.keys()):
        if engine not in before and not engine.join(timeout=0):
            engine.terminate()
            engine.join(timeout=30)
