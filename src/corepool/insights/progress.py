"""Progress of a map-family call: a tqdm bar, or the user's own ``(done, total)`` callable.

``progress=True`` draws a bar with ``tqdm.auto`` (a text bar in a terminal, a widget in Jupyter)
showing tasks done, tasks per second and the time left; ``progress=callable`` is called with
``(done, total)`` instead, for people with a UI of their own (``total`` is ``None`` while the
input's length is unknown).  Both are updated on the pool's results thread, once per chunk of
results, so a bar costs nothing per task.  Failed tasks count as done (a bar reaches 100 % even
when some tasks fail) and are shown as ``failed=N``; a task run again after its worker died
counts once, when it finally ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

ProgressCallback = Callable[[int, int | None], object]
ProgressOption = bool | ProgressCallback | None

INSTALL_HINT = "progress=True draws its bar with tqdm: pip install 'corepool[progress]'"


class Progress(Protocol):
    def advance(self, done: int, failed: int) -> None: ...
    def set_total(self, total: int) -> None: ...
    def close(self) -> None: ...


def check_progress(option: object) -> None:
    """Raise at the call (not later, on the results thread) for an option that cannot work."""
    if option is None or option is False or callable(option):
        return
    if option is not True:
        raise TypeError(
            f"progress must be True, False, None or a callable, not {type(option).__name__}"
        )
    try:
        import tqdm.auto  # noqa: F401
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error


def open_progress(option: ProgressOption, total: int | None, label: str) -> Progress | None:
    if option is None or option is False:
        return None
    if option is True:
        return BarProgress(total, label)
    return CallbackProgress(option, total)


class CallbackProgress:
    def __init__(self, callback: ProgressCallback, total: int | None) -> None:
        self._callback = callback
        self._total = total
        self._done = 0

    def advance(self, done: int, failed: int) -> None:
        self._done += done
        self._callback(self._done, self._total)

    def set_total(self, total: int) -> None:
        if self._total != total:
            self._total = total
            self._callback(self._done, total)

    def close(self) -> None:
        pass


class BarProgress:
    def __init__(self, total: int | None, label: str) -> None:
        from tqdm.auto import tqdm

        self._bar: Any = tqdm(total=total, desc=label, unit="task", dynamic_ncols=True)
        self._failed = 0

    def advance(self, done: int, failed: int) -> None:
        if failed:
            self._failed += failed
            self._bar.set_postfix(failed=self._failed, refresh=False)
        self._bar.update(done)

    def set_total(self, total: int) -> None:
        if self._bar.total != total:
            self._bar.total = total
            self._bar.refresh()

    def close(self) -> None:
        self._bar.close()
