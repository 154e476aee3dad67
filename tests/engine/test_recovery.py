"""Recovery plans as pure functions of (chunk, worker position, loss): no workers needed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from corepool import TaskCancelledError, TaskTimeoutError, WorkerLostError
from corepool._backends.base import Capabilities, Phase, WorkerPosition
from corepool._engine.recovery import Loss, LossKind, LossWitness, plan_recovery
from corepool._engine.tasks import Chunk
from corepool._lifecycle.oom import OomWatch
from support.chunks import chunk_of

DIED = Loss(LossKind.DIED, pid=123, exitcode=-9, max_unstarted_losses=2)


def at(chunk: Chunk, phase: Phase, item: int = 0) -> WorkerPosition:
    return WorkerPosition(chunk.id, phase, item, 0)


def spans(chunks: list[Chunk]) -> list[tuple[int, int]]:
    return sorted((chunk.start, len(chunk)) for chunk in chunks)


def test_a_chunk_the_worker_never_marked_runs_again_whole_until_the_bound() -> None:
    chunk = chunk_of(4)
    elsewhere = WorkerPosition(chunk.id - 1, Phase.RUNNING, 3, 0)
    for _ in range(DIED.max_unstarted_losses):
        plan = plan_recovery(chunk, elsewhere, DIED)
        assert plan.requeue == [chunk] and not plan.failed
    plan = plan_recovery(chunk, elsewhere, DIED)
    assert not plan.requeue
    [(failed, error)] = plan.failed
    assert failed is chunk and isinstance(error, WorkerLostError)
    assert "before it started" in str(error)


def test_a_chunk_lost_while_reading_runs_again_item_by_item_without_blame() -> None:
    chunk = chunk_of(3)
    plan = plan_recovery(chunk, at(chunk, Phase.READING), DIED)
    assert spans(plan.requeue) == [(10, 1), (11, 1), (12, 1)]
    assert all(part.unstarted_losses == 1 for part in plan.requeue)
    assert all(part.attempts == 0 for part in plan.requeue)


def test_a_single_item_lost_while_reading_is_not_blamed_until_the_bound() -> None:
    chunk = chunk_of(1)
    assert plan_recovery(chunk, at(chunk, Phase.READING), DIED).requeue == [chunk]
    assert plan_recovery(chunk, at(chunk, Phase.READING), DIED).requeue == [chunk]
    [(_, error)] = plan_recovery(chunk, at(chunk, Phase.READING), DIED).failed
    assert "unpickling the call" in str(error)


def test_the_running_item_is_blamed_and_the_others_run_again() -> None:
    chunk = chunk_of(5)
    plan = plan_recovery(chunk, at(chunk, Phase.RUNNING, 2), DIED)
    assert spans(plan.requeue) == [(10, 2), (13, 2)]
    [(culprit, error)] = plan.failed
    assert (culprit.start, len(culprit)) == (12, 1)
    assert isinstance(error, WorkerLostError) and "running" in str(error)


def test_the_running_item_is_retried_up_to_its_retries() -> None:
    chunk = chunk_of(1, retries=1)
    plan = plan_recovery(chunk, at(chunk, Phase.RUNNING), DIED)
    assert plan.requeue == [chunk] and chunk.attempts == 1
    plan = plan_recovery(chunk, at(chunk, Phase.RUNNING), DIED)
    assert not plan.requeue and "tried 2 times" in str(plan.failed[0][1])


def test_the_item_whose_result_was_being_written_is_blamed() -> None:
    chunk = chunk_of(3)
    plan = plan_recovery(chunk, at(chunk, Phase.PACKING, 1), DIED)
    assert "pickling the result" in str(plan.failed[0][1])
    assert spans(plan.requeue) == [(10, 1), (12, 1)]


def test_a_timeout_fails_the_running_item_with_task_timeout_error() -> None:
    chunk = chunk_of(2, timeout=1.5)
    loss = Loss(LossKind.TIMEOUT)
    plan = plan_recovery(chunk, at(chunk, Phase.RUNNING, 1), loss)
    assert isinstance(plan.failed[0][1], TaskTimeoutError)
    assert spans(plan.requeue) == [(10, 1)]


def test_a_single_item_that_timed_out_while_reading_fails_at_once() -> None:
    chunk = chunk_of(1, timeout=1.0)
    plan = plan_recovery(chunk, at(chunk, Phase.READING), Loss(LossKind.TIMEOUT))
    assert isinstance(plan.failed[0][1], TaskTimeoutError)


def test_a_cancel_fails_the_whole_chunk() -> None:
    chunk = chunk_of(3)
    plan = plan_recovery(chunk, at(chunk, Phase.RUNNING, 1), Loss(LossKind.CANCEL))
    assert [part for part, _ in plan.failed] == [chunk]
    assert isinstance(plan.failed[0][1], TaskCancelledError)


@pytest.mark.parametrize("phase", list(Phase))
def test_nothing_runs_again_once_the_pool_is_terminating(phase: Phase) -> None:
    chunk = chunk_of(1, retries=5)
    loss = Loss(LossKind.DIED, may_retry=False)
    plan = plan_recovery(chunk, at(chunk, phase), loss)
    assert not plan.requeue and len(plan.failed) == 1


# -- what the error adds about how the worker was lost (LossWitness)

PROCESSES = Capabilities("processes", kills_workers=True, isolates_workers=True)
THREADS = Capabilities("threads", kills_workers=False, isolates_workers=False)


def test_a_backend_that_cannot_stop_a_task_says_it_may_run_on() -> None:
    witness = LossWitness(THREADS, None, max_unstarted_losses=3)
    loss = witness.loss(LossKind.TIMEOUT, None, None, "", may_retry=True)
    assert loss.detail == "threads workers cannot be stopped: the task may run on"
    assert loss.max_unstarted_losses == 3
    died = witness.loss(LossKind.DIED, None, 1, "exit code 1", may_retry=False)
    assert died.detail == "exit code 1" and not died.may_retry
    stopped = LossWitness(PROCESSES, None, 3).loss(LossKind.CANCEL, 7, -15, "", True)
    assert stopped.detail == "" and stopped.pid == 7


def test_a_sigkill_while_the_cgroup_counted_an_oom_kill_names_the_oom_killer(
    tmp_path: Path,
) -> None:
    events = tmp_path / "memory.events"
    events.write_text("oom 0\noom_kill 4\n")
    witness = LossWitness(PROCESSES, OomWatch(events, "oom_kill"), 3)
    assert witness.loss(LossKind.DIED, 9, -signal.SIGKILL, "", True).detail == ""
    events.write_text("oom 1\noom_kill 5\n")
    assert witness.loss(LossKind.DIED, 9, -signal.SIGTERM, "", True).detail == ""  # not a kill
    loss = witness.loss(LossKind.DIED, 9, -signal.SIGKILL, "", True)
    assert "out-of-memory killer" in loss.detail
    again = witness.loss(LossKind.DIED, 9, -signal.SIGKILL, "", True)
    assert "out-of-memory" not in again.detail  # the count did not rise again
