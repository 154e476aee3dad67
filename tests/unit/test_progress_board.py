"""The progress board: rows a worker process writes and the parent reads, under every start method,
and nothing left open once the board is closed."""

from __future__ import annotations

import multiprocessing
import pickle

import psutil
import pytest

from corepool._worker import progress

START_METHODS = ("spawn", "forkserver", "fork")


def _write_row(board: progress.Board, index: int, value: int) -> None:
    row = board.row(index)
    row[progress.CHUNK] = value
    row[progress.ITEM] = value + 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("method", START_METHODS)
def test_a_worker_process_writes_its_row_and_the_parent_reads_it(method: str) -> None:
    board = progress.Board(3)
    try:
        context = multiprocessing.get_context(method)
        process = context.Process(target=_write_row, args=(board, 2, 40))
        process.start()
        process.join(timeout=50)
        assert process.exitcode == 0
        assert list(board.row(2))[: progress.ITEM + 1] == [40, 41]
        assert list(board.row(0)) == [0] * progress.ROW_SIZE  # a new board reads zero
    finally:
        board.close()


@pytest.mark.timeout(30)
def test_closing_the_board_leaves_no_fd_and_refuses_to_send_it() -> None:
    me = psutil.Process()
    before = me.num_fds()
    board = progress.Board(64)
    rows = [board.row(index) for index in range(64)]
    assert me.num_fds() > before  # the file, and the mapping's own
    board.close()
    board.close()  # twice: nothing more to do
    assert me.num_fds() == before
    with pytest.raises(ValueError, match="released"):
        rows[0][0]  # the rows went with the board
    with pytest.raises(ValueError, match="was closed"):
        pickle.dumps(board)
