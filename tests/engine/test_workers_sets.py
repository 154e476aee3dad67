"""``Workers`` keeps its starting, idle and holding slots as the slots change, instead of scanning
every slot for each question: the kept answers must always be the scan's."""

from __future__ import annotations

import random
from typing import Any, cast

import pytest

from corepool._engine.slots import Slot, StopReason
from corepool._engine.workers import Workers
from corepool.settings import Settings

SLOTS = 6
_CHUNK: Any = object()  # what a slot holds does not matter here, only whether it holds one


class _Worker:
    """Takes the shutdown steps without doing anything."""

    withdraws_queued = False

    def stop(self) -> None:
        pass

    terminate = kill = stop


class _Backend:
    def start_worker(self, index: int, loop: Any, listener: Any) -> _Worker:
        return _Worker()


class _Timer:
    def cancel(self) -> None:
        pass


class _Loop:
    def call_later(self, delay: float, fn: Any, *args: Any) -> _Timer:
        return _Timer()  # never fires: the shutdown steps are not what this test is about


def _workers() -> Workers:
    gone: list[Slot] = []
    return Workers(
        cast(Any, _Backend()),
        cast(Any, _Loop()),
        Settings(),
        SLOTS,
        cast(Any, None),
        lambda slot, *_: gone.append(slot),
    )


def _scanned(workers: Workers) -> tuple[list[int], bool, bool]:
    slots = workers.slots
    idle = [s.index for s in slots if s.idle and s.ready]
    starting = any(s.worker is not None and not s.ready and s.stop_reason is None for s in slots)
    holding = any(s.chunk is not None for s in slots)
    return sorted(idle, reverse=True), starting, holding


def _kept(workers: Workers) -> tuple[list[int], bool, bool]:
    idle = [slot.index for slot in workers.idle_in_order()]
    return idle, workers.any_starting, workers.any_holding


def _step(workers: Workers, rng: random.Random) -> None:
    slot = rng.choice(workers.slots)
    if slot.worker is None:
        workers.start(slot)
    elif not slot.ready and rng.random() < 0.6:
        workers.mark_ready(slot)
    elif slot.stop_reason is None and slot.ready and slot.chunk is None and rng.random() < 0.7:
        workers.set_chunk(slot, _CHUNK)
    elif slot.chunk is not None and rng.random() < 0.6:
        workers.set_chunk(slot, None if rng.random() < 0.7 else _CHUNK)
    elif slot.stop_reason is None and rng.random() < 0.5:
        workers.stop(slot, rng.choice(list(StopReason)))
    else:
        workers.vacate(slot)  # it exited (the dispatcher took care of its chunk)


@pytest.mark.parametrize("seed", range(20))
def test_kept_answers_match_a_scan_of_every_slot(seed: int) -> None:
    rng = random.Random(seed)
    workers = _workers()
    for _ in range(400):
        _step(workers, rng)
        assert _kept(workers) == _scanned(workers)


def test_the_next_idle_worker_is_the_lowest_index() -> None:
    workers = _workers()
    for slot in workers.slots:
        workers.start(slot)
    for index in (4, 1, 3):
        workers.mark_ready(workers.slots[index])
    assert [slot.index for slot in workers.idle_in_order()] == [4, 3, 1]
    assert workers.idle_in_order().pop() is workers.slots[1]
    assert workers.any_starting  # 0, 2 and 5 are still on their way up
