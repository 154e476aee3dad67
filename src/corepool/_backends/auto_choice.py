"""Threads or processes, from what a pool saw its first tasks do: a pure function, tested alone.

The textbook rule (threads for I/O, processes for CPU work) is right on average and wrong often,
so ``backend="auto"`` measures instead.  Its first tasks run on threads, which start at once,
while it records

* the CPU time each task's thread used against its wall time: near 0 for waiting (I/O, sleeps),
  near 1 for computing;
* how often a sampler thread found the GIL taken when it woke up (``gil_sampler.py``): high when
  the tasks compute in Python holding the GIL, low when they wait or compute in C with the GIL
  released (NumPy, compression, hashing);
* whether the run time has a GIL at all (``sys._is_gil_enabled()`` on 3.13+; free-threaded
  builds run Python threads in parallel);
* whether the call could be pickled at all (a lock or an open socket in the arguments: only
  threads can run it).

    could not be pickled                      threads   (processes cannot run it)
    free-threaded build                       threads   (threads compute in parallel)
    GIL held >= 50 % of the probe, and        processes (Python threads would run one at a time)
      pickling the arguments took less
      time than running the tasks             (else threads: moving the data costs more)
    otherwise                                 threads   (waiting, or computing without the GIL)

CPU time per task alone cannot tell GIL-bound work on 2 threads (each computing half the time)
from work that waits half the time; the GIL sample can, which is why both are measured.
"""

from __future__ import annotations

from dataclasses import dataclass

GIL_HELD_FOR_PROCESSES = 0.5
"""Share of GIL samples found taken above which the work is CPU-bound Python.  Waiting or
GIL-releasing work measures below 0.1 here, Python loops on 1-2 threads above 0.8
(tests/engine/test_auto_backend.py): any value between separates them."""


@dataclass(frozen=True)
class Observation:
    """What the probe saw."""

    chunks: int
    wall_seconds: float
    """Sum of the chunks' run times (each measured by its worker)."""
    cpu_seconds: float
    """Sum of the CPU time the workers' threads used running those chunks."""
    gil_held: float | None
    """Share of GIL samples that found it taken (``None``: no sample)."""
    gil_enabled: bool = True
    picklable: bool = True
    pickle_seconds: float = 0.0
    """Time spent pickling the probed calls' arguments (as processes would need)."""
    bytes: int = 0
    """Size of those pickles."""

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass(frozen=True)
class Choice:
    backend: str
    """``"threads"`` or ``"processes"``."""
    reason: str


def choose(seen: Observation) -> Choice:
    facts = f"{seen.chunks} chunks probed: CPU {seen.cpu_share:.0%} of their time" + (
        f", GIL taken in {seen.gil_held:.0%} of samples" if seen.gil_held is not None else ""
    )
    if not seen.picklable:
        return Choice(
            "threads", f"the call cannot be pickled, so only threads can run it ({facts})"
        )
    if not seen.gil_enabled:
        return Choice("threads", f"free-threaded Python: threads compute in parallel ({facts})")
    if seen.gil_held is not None and seen.gil_held >= GIL_HELD_FOR_PROCESSES:
        if seen.pickle_seconds > seen.wall_seconds:
            return Choice(
                "threads",
                f"CPU-bound Python, but pickling its {seen.bytes:,} bytes of arguments took longer "
                f"than running it ({facts})",
            )
        return Choice(
            "processes", f"CPU-bound Python, which threads would run one at a time ({facts})"
        )
    if seen.cpu_share >= 0.5:
        return Choice("threads", f"computing with the GIL released: threads suffice ({facts})")
    return Choice("threads", f"mostly waiting (I/O): threads ({facts})")
