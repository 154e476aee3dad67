"""corepool's logger, made on first use.

corepool logs only what went wrong (a callback that raised, a bug caught on the loop thread, an
initializer that failed), so ``logging`` loads with the first report rather than with corepool:
its import (with ``traceback`` and ``string``) costs ~8 ms, an eighth of corepool's whole import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


def logger(name: str = "corepool") -> logging.Logger:
    import logging

    return logging.getLogger(name)
