"""``pool.insights()``: where each worker's time went, the slowest tasks, and what to change.

A frozen snapshot, printed as a table::

    worker  tasks   busy    waiting for work  reading/writing  in transit  CPU
    0       1,200   1.92 s  0.05 s            0.02 s           0.01 s      98%
    ...
    slowest: 41.3 ms  item 17 of map(score)  args: (17,)
    suggest: ...

The suggestions are rules over these numbers (``suggest``), each naming the number it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerInsight:
    index: int
    tasks: int
    chunks: int
    busy_seconds: float
    """Running tasks (measured by the worker)."""
    waiting_seconds: float
    """Ready and idle: no chunk to run."""
    io_seconds: float
    """Reading (unpickling) calls and writing (pickling) results in the worker."""
    transit_seconds: float
    """Holding a chunk but neither running nor reading/writing it: messages on their way."""
    cpu_seconds: float
    queued_seconds: float = 0.0
    """Of ``busy_seconds``, ready to run but queued for a core: other programs' load."""

    @property
    def cpu_share(self) -> float:
        """CPU time over the run time the machine let the tasks have (queued time left out, so
        that CPU-bound tasks on a machine busy with other programs do not look like waiting)."""
        return _cpu_share(self.cpu_seconds, self.busy_seconds - self.queued_seconds)


@dataclass(frozen=True)
class SlowTask:
    seconds: float
    """Run time of the task (for a chunk of several: its run time per item)."""
    task: str
    """``item 17 of map(score)``, or ``items 100-199 of map(score)`` for a chunk."""
    arguments: str
    """The (first) task's arguments, shortened."""


@dataclass(frozen=True)
class PoolInsights:
    backend: str
    workers: tuple[WorkerInsight, ...]
    slowest: tuple[SlowTask, ...]
    suggestions: tuple[str, ...]
    explicit_chunksize: bool = False

    @property
    def tasks(self) -> int:
        return sum(worker.tasks for worker in self.workers)

    def __str__(self) -> str:
        rows = [
            ("worker", "tasks", "busy", "waiting for work", "reading/writing", "in transit", "CPU")
        ]
        for worker in self.workers:
            rows.append(
                (
                    str(worker.index),
                    f"{worker.tasks:,}",
                    _seconds(worker.busy_seconds),
                    _seconds(worker.waiting_seconds),
                    _seconds(worker.io_seconds),
                    _seconds(worker.transit_seconds),
                    f"{worker.cpu_share:.0%}",
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        lines = [f"corepool insights ({self.backend}, {self.tasks:,} tasks)"]
        lines += [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            for row in rows
        ]
        lines += [
            f"slowest: {_seconds(slow.seconds)}  {slow.task}  args: {slow.arguments}"
            for slow in self.slowest
        ]
        lines += [f"suggest: {suggestion}" for suggestion in self.suggestions]
        return "\n".join(line.rstrip() for line in lines)


def _seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.0f} µs"


def suggest(
    backend: str, workers: tuple[WorkerInsight, ...], explicit_chunksize: bool
) -> tuple[str, ...]:
    """Advice from the measured numbers; empty when nothing stands out."""
    tasks = sum(worker.tasks for worker in workers)
    chunks = sum(worker.chunks for worker in workers)
    busy = sum(worker.busy_seconds for worker in workers)
    if tasks == 0 or busy <= 0:
        return ()
    waiting = sum(worker.waiting_seconds for worker in workers)
    overhead = sum(worker.io_seconds + worker.transit_seconds for worker in workers)
    cpu = sum(worker.cpu_seconds for worker in workers)
    queued = sum(worker.queued_seconds for worker in workers)
    advice: list[str] = []
    per_chunk = busy / max(chunks, 1)
    if overhead > 0.25 * busy and per_chunk < 0.005:
        share = overhead / (overhead + busy)
        if explicit_chunksize:
            advice.append(
                f"{share:.0%} of the workers' time went to moving chunks of "
                f"{tasks / chunks:.0f} tasks ({_seconds(per_chunk)} of work each): "
                "pass a larger chunksize, or none to let corepool size chunks"
            )
        else:
            advice.append(
                f"{share:.0%} of the workers' time went to moving data, not running tasks: "
                "send less per task (large arguments or results cost pickling)"
            )
    if waiting > busy and len(workers) > 1:
        advice.append(
            f"workers waited for work {waiting / (waiting + busy):.0%} of the time: the input (or "
            "the code consuming results) is slower than the pool; fewer workers would do as well"
        )
    # Threads sharing the GIL are queued for a core at each hand-over on a busy machine, so for
    # them queued time is not the machine's alone: their share stays CPU over run time.
    thread_share = _cpu_share(cpu, busy)
    cpu_share = _cpu_share(cpu, busy - queued)
    # n threads taking turns on the GIL each get ~1/n of their run time, measured up to ~0.6 on
    # 2 threads of this 2-core machine; threads computing with the GIL released get ~1.0.
    gil_bound = 0.2 < thread_share < 1.0 / len(workers) + 0.3
    if backend == "threads" and len(workers) > 1 and gil_bound:
        advice.append(
            f"tasks used the CPU {thread_share:.0%} of their run time on {len(workers)} threads, "
            "as Python code holding the GIL does: processes (or backend='auto') would run them "
            "in parallel"
        )
    if backend == "processes" and cpu_share < 0.2:
        advice.append(
            f"tasks used the CPU only {cpu_share:.0%} of their run time (they wait): threads "
            "(backend='threads' or 'auto') would do the same with less overhead"
        )
    return tuple(advice)


def _cpu_share(cpu: float, runnable: float) -> float:
    return min(1.0, cpu / runnable) if runnable > 0 else 0.0
