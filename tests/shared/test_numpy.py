"""NumPy without copies: SharedArray, and large arrays through shared memory to and from tasks."""

from __future__ import annotations

import multiprocessing.context
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator

import pytest
import shared_children as children

import corepool
from corepool.shared.array_transport import LARGE_BUFFER_BYTES

np = pytest.importorskip("numpy")

BIG = LARGE_BUFFER_BYTES // 8 * 2  # float64 items: twice the threshold


@pytest.fixture(params=["processes", "threads"])
def pool(request: pytest.FixtureRequest) -> Iterator[corepool.Pool]:
    with corepool.Pool(2, backend=request.param) as running:
        yield running


@pytest.fixture
def process_pool() -> Iterator[corepool.Pool]:
    with corepool.Pool(2) as running:
        yield running


# ------------------------------------------------------------------------------ SharedArray


def test_shared_array_is_usable_as_an_ndarray() -> None:
    with corepool.SharedArray((3, 4), "f8") as shared:
        assert shared.shape == (3, 4) and shared.dtype == np.float64 and len(shared) == 3
        assert np.shares_memory(np.asarray(shared), shared.array)
        shared[1] = 5
        shared += 1  # noqa: PLW2901 - in place: still the shared array
        assert isinstance(shared, corepool.SharedArray)
        doubled = shared * 2
        assert type(doubled) is np.ndarray and doubled[1, 0] == 12
        assert shared.sum() == 3 * 4 + 5 * 4 and np.sum(shared) == shared.sum()
        assert shared.T.shape == (4, 3)
        np.add(shared, 1, out=shared)
        assert shared[0, 0] == 2


def test_from_array_copies_once_in_either_order() -> None:
    for source in (np.arange(12.0).reshape(3, 4), np.asfortranarray(np.arange(12).reshape(3, 4))):
        with corepool.SharedArray.from_array(source) as shared:
            assert np.array_equal(shared.array, source) and shared.dtype == source.dtype
            assert not np.shares_memory(shared.array, source)


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match="cannot hold Python objects"):
        corepool.SharedArray(3, object)
    with pytest.raises(ValueError, match="negative dimensions"):
        corepool.SharedArray((2, -1))
    with pytest.raises(TypeError):
        corepool.SharedArray(3, "not a dtype")
    shared = corepool.SharedArray(3)
    blob = pickle.dumps(shared)
    shared.close()
    with pytest.raises(corepool.SharedObjectClosedError, match="closed"):
        shared.sum()
    with pytest.raises(corepool.SharedObjectClosedError, match="no longer exists"):
        pickle.loads(blob)


def test_tasks_write_into_the_same_memory(pool: corepool.Pool) -> None:
    with corepool.SharedArray((8, 1000), "i8") as shared:
        pool.starmap(children.fill_row, [(shared, row) for row in range(8)])
        assert np.array_equal(shared[:, 0], np.arange(8)) and shared[7, 999] == 7
        assert pool.apply(children.identity, (shared,)) is shared


def test_processes_of_every_start_method_share_it(
    mp_context: multiprocessing.context.BaseContext,
) -> None:
    with corepool.SharedArray(100, "i8") as shared:
        process = mp_context.Process(  # type: ignore[attr-defined]
            target=children.fill_row, args=(shared, 0)
        )
        process.start()
        process.join(30)
        assert process.exitcode == 0
        process.close()
        assert (shared.array == 0).all()  # row 0 of a 1-d array: every element set to 0
        shared[:] = 5
        process = mp_context.Process(  # type: ignore[attr-defined]
            target=children.fill_row, args=(shared, 3)
        )
        process.start()
        process.join(30)
        process.close()
        assert shared[3] == 3 and shared[4] == 5


# ------------------------------------------------------------- large arrays, transparently


def test_large_argument_is_mapped_not_piped(process_pool: corepool.Pool) -> None:
    array = np.arange(BIG, dtype=np.float64)
    report = process_pool.apply(children.describe_array, (array,))
    assert report["sum"] == float(array.sum())
    assert report["mapped_from"] and report["mapped_from"].startswith("/dev/shm/cp-")
    assert report["writeable"]


def test_sixteen_tasks_share_one_copy(process_pool: corepool.Pool) -> None:
    array = np.ones(BIG)
    reports = [process_pool.apply_async(children.describe_array, (array,)) for _ in range(16)]
    paths = {result.get(60)["mapped_from"] for result in reports}
    assert len(paths) == 1  # one segment for all 16 tasks


def test_writes_to_an_argument_stay_the_task_own(process_pool: corepool.Pool) -> None:
    array = np.zeros(BIG)
    assert process_pool.apply(children.scribble, (array,)) == 1.0
    assert process_pool.apply(children.scribble, (array,)) == 1.0  # not the first task's write
    assert array[0] == 0.0  # and never the parent's


def test_large_result_is_adopted_without_a_copy(process_pool: corepool.Pool) -> None:
    result = process_pool.apply(children.make_array, (BIG,))
    assert result.shape == (BIG,) and result[-1] == BIG - 1
    assert _mapping(result) is not None and result.flags.writeable
    result[0] = 42  # the memory is the parent's alone now
    several = process_pool.map(children.make_array, [BIG, 10, BIG])
    assert [len(item) for item in several] == [BIG, 10, BIG]
    assert _mapping(several[1]) is None  # small arrays travel in the pickle


def test_non_contiguous_and_nested_arrays(process_pool: corepool.Pool) -> None:
    strided = np.arange(BIG * 2, dtype=np.float64)[::2]
    assert process_pool.apply(children.describe_array, (strided,))["sum"] == float(strided.sum())
    nested = {"a": np.ones(BIG), "b": [np.zeros(BIG), "text"]}
    echoed = process_pool.apply(children.identity, (nested,))
    assert np.array_equal(echoed["a"], nested["a"]) and echoed["b"][1] == "text"


@pytest.mark.timeout(90)
def test_terminating_mid_job_leaves_nothing(process_pool: corepool.Pool) -> None:
    array = np.ones(BIG)
    results = [process_pool.apply_async(children.slow_copy, (array,)) for _ in range(8)]
    results[0].wait(30)
    process_pool.terminate()
    process_pool.join()
    del results  # the module's leak check runs after the pool and these are gone


@pytest.mark.timeout(90)
def test_a_worker_killed_holding_an_argument_leaves_nothing() -> None:
    array = np.ones(BIG)
    with corepool.Pool(1) as pool:
        with pytest.raises(corepool.WorkerLostError):
            pool.apply(children.die_holding, (array,))
        assert pool.apply(children.describe_array, (array,))["sum"] == float(BIG)


def _mapping(array: object) -> object | None:
    """The mmap an array's memory comes from, if any."""
    import mmap

    base = getattr(array, "base", None)
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        base = (
            getattr(base, "obj", None)
            if isinstance(base, memoryview)
            else getattr(base, "base", None)
        )
    return None


def test_corepool_works_without_numpy(tmp_path: object) -> None:
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "import corepool\n"
        "with corepool.Dict() as d, corepool.Pool(2) as pool:\n"
        "    d['x'] = bytes(3 << 20)\n"
        "    assert pool.apply(len, (d['x'],)) == 3 << 20\n"
        "try:\n"
        "    corepool.SharedArray\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "needs NumPy: pip install 'corepool[numpy]'" in done.stdout


def test_one_worker_reuses_a_clean_argument_but_never_a_written_one() -> None:
    array = np.ones(BIG)
    with corepool.Pool(1) as pool:  # one worker: every task maps in the same process
        assert pool.apply(children.scribble, (array,)) == 2.0
        assert pool.apply(children.describe_array, (array,))["sum"] == float(BIG)
        assert pool.apply(children.scribble, (array,)) == 2.0
        assert [pool.apply(children.describe_array, (array,))["sum"] for _ in range(3)] == [
            float(BIG)
        ] * 3
