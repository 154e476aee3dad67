"""A sink says when every outcome arrived, so that terminating a pool whose streams are all
settled (their feeder thread not yet reported) makes no termination error: that error imports
``concurrent.futures``, which a program of Pools never loads otherwise (test_lean_first_pool
caught the race on a loaded machine)."""

from __future__ import annotations

import pytest

from corepool._engine.sinks import ListSink, StreamSink

pytestmark = pytest.mark.timeout(10)


def test_a_list_sink_is_settled_once_every_result_arrived() -> None:
    got: list[object] = []
    sink = ListSink(3, got.append, got.append)
    sink.deliver(0, [1, 2], {})
    assert not sink.settled
    sink.deliver(2, [3], {})
    assert sink.settled
    assert got == [[1, 2, 3]]
    sink.cancel(RuntimeError("late"))  # a settled sink ignores it
    assert got == [[1, 2, 3]]


def test_a_stream_sink_is_settled_once_its_input_ended_and_every_outcome_arrived() -> None:
    sink = StreamSink(ordered=True)
    sink.deliver(0, ["a", "b"], {})
    assert not sink.settled  # the input's length is not known yet
    sink.input_ended(3)
    assert not sink.settled
    sink.deliver(2, ["c"], {})
    assert sink.settled
