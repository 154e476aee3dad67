"""``ChunkSizer``: measure first, batch only items known to be short.

Driven by hand (``next_size`` as the feeder calls it, ``record`` as the dispatcher does), with a
tiny ``target_chunk_seconds`` so that the feeder's wait for a first measurement is short.
"""

from __future__ import annotations

import threading

from corepool._engine.chunking import ChunkSizer
from corepool.settings import Settings

TARGET = 0.002
SETTINGS = Settings(target_chunk_seconds=TARGET)


def _sizer(workers: int = 2, total: int | None = 100_000) -> ChunkSizer:
    # A fresh function each time: the sizer recalls estimates per function.
    def fn(x: int) -> int:
        return x

    return ChunkSizer(fn, workers, SETTINGS, total=total)


def test_no_chunk_holds_more_than_one_item_until_a_time_is_measured() -> None:
    sizer = _sizer()
    assert [sizer.next_size() for _ in range(6)] == [1] * 6


def test_items_measured_short_are_batched_up_to_the_target() -> None:
    sizer = _sizer()
    sizer.record(1000, 1000 * 1e-7)
    size = sizer.next_size()
    assert 1 < size <= round(TARGET / 1e-7)


def test_items_measured_at_the_target_or_more_run_alone() -> None:
    sizer = _sizer()
    sizer.record(1, TARGET * 1.5)
    assert sizer.next_size() == 1


def test_a_long_item_is_not_averaged_away_by_short_ones() -> None:
    sizer = _sizer()
    sizer.record(1000, 1000 * 1e-7)
    sizer.record(1, TARGET * 50)  # one long item among short ones
    sizer.record(1000, 1000 * 1e-7)
    # The decayed average alone would allow a batch; the long item seen recently forbids it.
    assert sizer.next_size() == 1


def test_a_probes_guess_cuts_two_chunks_per_worker_then_waits_for_a_measurement() -> None:
    # A long target, so that the wait for a measurement cannot run out during the test.
    sizer = ChunkSizer(lambda x: x, 2, Settings(target_chunk_seconds=60.0), total=10**6)
    assert [sizer.next_size(), sizer.next_size()] == [1, 1]  # the probes
    sizer.record(1, 1.0)  # a probe: its fixed costs may be most of it
    assert sizer.cuts_at_once  # one chunk of the first four is out unmeasured
    assert [sizer.next_size() for _ in range(3)] == [60] * 3
    assert not sizer.cuts_at_once  # four are: the feeder hands over what it cut, then waits
    # Four chunks are out unmeasured (a probe and three): the next waits for a measurement.
    cut: list[int] = []
    feeder = threading.Thread(target=lambda: cut.append(sizer.next_size()), daemon=True)
    feeder.start()
    feeder.join(0.2)
    assert feeder.is_alive() and not cut
    sizer.record(60, 0.06)  # 1 ms an item: the chunks reach their cap
    feeder.join(10)
    assert cut == [SETTINGS.max_chunk_items]
    assert sizer.cuts_at_once


def test_while_the_estimate_settles_the_largest_chunk_measured_replaces_it() -> None:
    sizer = _sizer()
    sizer.record(1, TARGET / 4)  # a preempted probe: 500x the item's real time
    sizer.record(20, 20 * TARGET / 2000)
    # Mixed into decayed sums, the probe would keep the next chunk near 80 items.
    assert sizer.next_size() in range(1990, 2001)


def _cut_all(sizer: ChunkSizer, total: int) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(sizer.next_size())
    return sizes


def test_chunks_shrink_at_the_tail_so_that_workers_finish_together() -> None:
    sizer = _sizer(workers=2, total=400)
    sizer.record(100, 100 * 1e-4)  # 0.1 ms items: 20 make the 2 ms target
    sizes = _cut_all(sizer, 400)
    assert sizes[0] == 20 and sum(sizes) == 400
    assert sizes == sorted(sizes, reverse=True)
    # None holds more than a quarter (half a worker's share on 2 workers) of what was left,
    # down to a tenth of the target (2 items).
    left = 400
    for size in sizes:
        assert size <= max(2, -(-left // 4))
        left -= size
    assert sizes[-1] <= 2


def test_tiny_items_keep_their_chunks_to_the_end() -> None:
    # A chunk far shorter than the target gains nothing by being cut further at the tail.
    sizer = _sizer(workers=2, total=100_000)
    sizer.record(1000, 1000 * 1e-8)
    assert set(_cut_all(sizer, 100_000)) == {12_500}  # the cap: 100,000 / (2 x 4)


def test_a_map_of_unknown_length_keeps_its_size_to_the_end() -> None:
    sizer = _sizer(total=None)
    sizer.record(1000, 1000 * 1e-7)
    assert len({sizer.next_size() for _ in range(50)}) == 1


def test_the_next_call_of_a_function_starts_from_its_recent_estimate() -> None:
    def fn(x: int) -> int:
        return x

    first = ChunkSizer(fn, 2, SETTINGS, total=100_000)
    first.record(1000, 1000 * TARGET / 100)  # 100 items a target
    # Provisional: half the recalled size until this call measures.
    assert ChunkSizer(fn, 2, SETTINGS, total=100_000).next_size() == 50
    # A change under 10 % is not worth writing back; a larger one is.
    first.record(1000, 1000 * TARGET / 95)
    assert ChunkSizer(fn, 2, SETTINGS, total=100_000).next_size() == 50
    for _ in range(4):
        first.record(1000, 1000 * TARGET / 50)
    assert ChunkSizer(fn, 2, SETTINGS, total=100_000).next_size() in range(25, 28)


def test_a_recalled_estimate_sizes_only_two_chunks_per_worker_before_this_call_measures() -> None:
    def fn(x: int) -> int:
        return x

    ChunkSizer(fn, 2, SETTINGS, total=100_000).record(1000, 1000 * TARGET / 100)
    # The same function on other arguments: its remembered speed may be stale.
    sizer = ChunkSizer(fn, 2, SETTINGS, total=100_000)
    assert [sizer.next_size() for _ in range(4)] == [50] * 4
    assert not sizer.cuts_at_once  # the next waits for a measurement (up to a target time)
    # Nothing measured within a target time: single items, not more of the recalled size.
    assert [sizer.next_size() for _ in range(3)] == [1] * 3
    # This call's first measurement replaces the memory: these items run alone.
    sizer.record(4, 4 * TARGET * 3)
    assert sizer.cuts_at_once
    assert [sizer.next_size() for _ in range(4)] == [1] * 4


def test_a_recalled_estimate_confirmed_by_this_call_cuts_full_chunks() -> None:
    def fn(x: int) -> int:
        return x

    ChunkSizer(fn, 2, SETTINGS, total=100_000).record(1000, 1000 * TARGET / 100)
    sizer = ChunkSizer(fn, 2, SETTINGS, total=100_000)
    assert sizer.next_size() == 50
    sizer.record(50, 50 * TARGET / 100)
    assert sizer.next_size() == 100


# CPU-bound items (a chunk's CPU time is most of its run time) are cut into chunks of
# ``cpu_bound_chunk_seconds``: each message then takes a core from a busy worker.
CPU_TARGET = 10 * TARGET
CPU_SETTINGS = Settings(target_chunk_seconds=TARGET, cpu_bound_chunk_seconds=CPU_TARGET)


def _cpu_sizer(total: int | None = 1000, settings: Settings = CPU_SETTINGS) -> ChunkSizer:
    def fn(x: int) -> int:
        return x

    return ChunkSizer(fn, 2, settings, total=total)


def test_cpu_bound_items_longer_than_the_target_are_batched_up_to_the_cpu_bound_chunk() -> None:
    sizer = _cpu_sizer()
    item = CPU_TARGET / 4  # 2.5 targets: would run alone if it waited instead of computing
    sizer.record(1, item, cpu_seconds=item * 0.95)
    assert sizer.next_size() == 4
    assert sizer.chunk_seconds == CPU_TARGET


def test_the_same_items_waiting_instead_of_computing_run_alone() -> None:
    sizer = _cpu_sizer()
    item = CPU_TARGET / 4
    sizer.record(1, item, cpu_seconds=item * 0.3)  # mostly asleep: messages cost no core
    assert sizer.next_size() == 1
    assert sizer.chunk_seconds == TARGET


def test_time_queued_for_a_core_does_not_hide_cpu_bound_items() -> None:
    # A machine busy with other programs: the worker was ready but waiting half the time.
    sizer = _cpu_sizer()
    item = CPU_TARGET / 4
    sizer.record(1, item, cpu_seconds=item * 0.48, queued_seconds=item * 0.5)
    assert sizer.next_size() == 4


def test_cpu_bound_chunks_shrink_to_single_items_at_the_tail_in_few_steps() -> None:
    sizer = _cpu_sizer(total=64)
    item = CPU_TARGET / 4
    sizer.record(1, item, cpu_seconds=item)
    sizes = _cut_all(sizer, 64)
    assert sum(sizes) == 64 and max(sizes) == 4
    # Each worker's share of what is left, no more: a worker that frees up still finds single
    # items to the end, after 3 chunks smaller than the rest instead of 9 (each a message to a
    # worker that waits for it: nothing is queued near the end).
    assert sizes[-4:] == [4, 2, 1, 1]
    left = 64
    for size in sizes:
        assert size <= -(-left // 2)
        left -= size


def test_the_same_items_waiting_instead_of_computing_shrink_in_more_steps() -> None:
    # Short waiting items keep the finer tail: a chunk holds half a worker's share of the rest.
    sizer = _cpu_sizer(total=400)
    item = TARGET / 20
    sizer.record(100, 100 * item, cpu_seconds=100 * item * 0.1)
    sizes = _cut_all(sizer, 400)
    assert sizes[0] == 20
    left = 400
    for size in sizes:
        assert size <= max(2, -(-left // 4))
        left -= size


def test_cpu_bound_items_as_long_as_the_cpu_bound_chunk_run_alone() -> None:
    sizer = _cpu_sizer()
    sizer.record(1, CPU_TARGET * 1.2, cpu_seconds=CPU_TARGET * 1.2)
    assert sizer.next_size() == 1
    # ...and make the next ones run alone too, as a long item among short ones does.
    sizer.record(4, CPU_TARGET / 2, cpu_seconds=CPU_TARGET / 2)
    assert sizer.next_size() == 1


def test_a_stream_keeps_the_target_for_cpu_bound_items() -> None:
    # Without a known end, the tail cannot be cut small: no larger chunks.
    sizer = _cpu_sizer(total=None)
    item = CPU_TARGET / 4
    sizer.record(1, item, cpu_seconds=item)
    assert sizer.next_size() == 1


def test_cpu_bound_chunks_are_off_at_or_under_the_target() -> None:
    sizer = _cpu_sizer(settings=Settings(target_chunk_seconds=TARGET, cpu_bound_chunk_seconds=0))
    item = CPU_TARGET / 4
    sizer.record(1, item, cpu_seconds=item)
    assert sizer.next_size() == 1


def test_the_first_measurement_is_awaited_up_to_the_longest_chunk() -> None:
    # Four probes out unmeasured: the feeder waits for one to end rather than cut another single
    # item after one target (items of ~25 ms were cut into 6-7 single items while a target of
    # 10 ms ran out).  The CPU-bound chunk is made long here, so that the wait cannot run out.
    sizer = _cpu_sizer(settings=Settings(target_chunk_seconds=TARGET, cpu_bound_chunk_seconds=60))
    assert [sizer.next_size() for _ in range(4)] == [1] * 4
    cut: list[int] = []
    feeder = threading.Thread(target=lambda: cut.append(sizer.next_size()), daemon=True)
    feeder.start()
    feeder.join(50 * TARGET)  # 50 waits of one target
    assert feeder.is_alive() and not cut
    item = TARGET / 100
    sizer.record(1, item, cpu_seconds=item)
    feeder.join(10)
    assert cut and cut[0] > 1
