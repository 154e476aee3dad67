"""A worker's mappings of argument segments: reused only when clean, dropped when gone."""

from __future__ import annotations

import ctypes
import gc

import pytest

from corepool.shared import _argument_maps, memory
from corepool.shared.memory import Segment

SIZE = 64 * 4096


@pytest.fixture
def segment() -> Segment:
    made = Segment.create(SIZE, content=memoryview(bytes(range(256)) * (SIZE // 256)))
    yield made
    _argument_maps._kept.pop(made.name, None)
    made.close()


def address_of(view: memoryview) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def test_a_clean_mapping_is_handed_out_again(segment: Segment) -> None:
    first = _argument_maps.view(segment.name, SIZE)
    assert bytes(first[:3]) == b"\x00\x01\x02"
    where = address_of(first)
    del first
    assert address_of(_argument_maps.view(segment.name, SIZE)) == where


def test_a_written_mapping_is_not(segment: Segment) -> None:
    first = _argument_maps.view(segment.name, SIZE)
    first[5 * 4096] = 99  # one private page
    del first
    second = _argument_maps.view(segment.name, SIZE)
    assert second[5 * 4096] == 0  # a fresh mapping: the write is gone
    assert segment.buf[5 * 4096] == 0  # and it never reached the segment


def test_a_mapping_still_in_use_is_not(segment: Segment) -> None:
    first = _argument_maps.view(segment.name, SIZE)
    second = _argument_maps.view(segment.name, SIZE)
    assert address_of(first) != address_of(second)


def test_mappings_of_segments_that_are_gone_are_dropped(
    segment: Segment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_argument_maps, "_PRUNE_EVERY", 0.0)
    _argument_maps.view(segment.name, SIZE)
    gc.collect()
    assert segment.name in _argument_maps._kept
    segment.unlink()
    memory.settle()
    _argument_maps.prune()
    assert segment.name not in _argument_maps._kept
