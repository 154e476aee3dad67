"""corepool.Dict behaves as a dict: the mapping API, key equality, order, errors (one process)."""

from __future__ import annotations

import enum
import os
import pathlib
import pickle
import subprocess
import threading
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pytest

import corepool
from corepool import CapacityError, SharedObjectClosedError
from corepool.shared._store import shared_root


@pytest.fixture
def d() -> Iterator[corepool.Dict]:
    shared: corepool.Dict = corepool.Dict()
    yield shared
    shared.close()


def test_starts_from_a_mapping_or_pairs() -> None:
    with corepool.Dict({"a": 1}) as a, corepool.Dict([("b", 2)]) as b:
        assert a == {"a": 1}
        assert b == {"b": 2}
    with corepool.Dict.fromkeys("xy", 0) as c:
        assert c.copy() == {"x": 0, "y": 0}


def test_mapping_api_matches_dict(d: corepool.Dict) -> None:
    reference: dict = {}
    for target in (d, reference):
        target["a"] = 1
        target["b"] = [1, 2]
        target.update({"c": 3}, e=5)
        target.update([("d", 4)])
        del target["a"]
        target.setdefault("f", 6)
        target.setdefault("c", 99)
    assert d == reference
    assert d.copy() == reference and type(d.copy()) is dict
    assert list(d) == list(reference)
    assert list(d.keys()) == list(reference.keys())
    assert list(d.values()) == list(reference.values())
    assert list(d.items()) == list(reference.items())
    assert list(reversed(d)) == list(reversed(reference))
    assert len(d) == len(reference)
    assert ("b" in d, "zz" in d) == (True, False)
    assert d.get("zz") is None and d.get("zz", 7) == 7
    assert d.pop("b") == [1, 2] and d.pop("b", "gone") == "gone"
    assert d | {"z": 0} == {**d.copy(), "z": 0}
    assert {"z": 0} | d == {"z": 0, **d.copy()}
    d |= {"g": 7}
    assert d["g"] == 7
    assert repr(d) == f"corepool.Dict({d.copy()!r})"


def test_missing_keys_raise_key_error(d: corepool.Dict) -> None:
    with pytest.raises(KeyError):
        d["missing"]
    with pytest.raises(KeyError):
        del d["missing"]
    with pytest.raises(KeyError):
        d.pop("missing")
    with pytest.raises(KeyError):
        d.popitem()
    with pytest.raises(KeyError):
        d.update_with("missing", lambda value: value)


def test_popitem_is_last_in_first_out_and_order_is_insertion(d: corepool.Dict) -> None:
    for key in "cab":
        d[key] = key.upper()
    d["c"] = "again"  # replacing a value keeps the key's place
    assert list(d) == ["c", "a", "b"]
    assert d.popitem() == ("b", "B")
    d["b"] = "new"
    assert list(d) == ["c", "a", "b"]
    d.clear()
    assert len(d) == 0 and list(d) == []


class Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    "keys",
    [
        (1, 1.0, True, Fraction(1), Decimal(1), 1 + 0j, Colour.RED),
        (0.5, Fraction(1, 2), Decimal("0.5")),
        ((1, "a"), (1.0, "a"), (True, "a")),
        (frozenset({1, 2}), frozenset({2.0, 1.0})),
        (float("inf"), Decimal("Infinity")),
        (2 + 3j, complex(2.0, 3.0)),
        (2**60, float(2**60)),
    ],
)
def test_equal_keys_are_one_key_as_in_a_dict(d: corepool.Dict, keys: tuple) -> None:
    reference: dict = {}
    for index, key in enumerate(keys):
        d[key] = index
        reference[key] = index
    assert len(d) == len(reference) == 1
    assert list(d.items()) == list(reference.items())
    [(stored_key, _)] = d.items()
    assert type(stored_key) is type(keys[0])  # the first key inserted is kept
    for key in keys:
        assert d[key] == len(keys) - 1


def test_different_keys_stay_apart(d: corepool.Dict) -> None:
    keys = [1, "1", b"1", 1.5, (1,), None, "", (), frozenset(), 2**70, -1, 0, 2.5 + 1j]
    for index, key in enumerate(keys):
        d[key] = index
    assert len(d) == len(keys)
    assert [d[key] for key in keys] == list(range(len(keys)))


def test_keys_longer_than_lmdb_allows_work(d: corepool.Dict) -> None:
    long_key = "k" * 5000
    d[long_key] = 1
    d[("t",) * 300] = 2
    assert d[long_key] == 1 and d[("t",) * 300] == 2
    assert set(d) == {long_key, ("t",) * 300}


def test_unhashable_keys_raise_type_error_like_a_dict(d: corepool.Dict) -> None:
    for key in ([1], {"a": 1}, {1}, (1, [2])):
        with pytest.raises(TypeError, match="unhashable"):
            d[key] = 1
        with pytest.raises(TypeError, match="unhashable"):
            d.get(key)
    assert len(d) == 0


def test_unpicklable_values_raise_and_leave_the_dict_unchanged(d: corepool.Dict) -> None:
    d["kept"] = 1
    with pytest.raises(TypeError, match=r"cannot store a lock value in corepool.Dict under 'x'"):
        d["x"] = threading.Lock()
    with pytest.raises(TypeError, match="cannot be pickled"):
        d.update({"y": 2, "z": threading.Lock()})
    assert d.copy() == {"kept": 1}  # update is all or nothing


def test_values_are_copies_so_mutate_through_update_with(d: corepool.Dict) -> None:
    d["items"] = []
    d["items"].append(1)  # changes a copy, as documented
    assert d["items"] == []
    assert d.update_with("items", lambda items: [*items, 1]) == [1]
    assert d["items"] == [1]


def test_increment_and_update_with(d: corepool.Dict) -> None:
    assert d.increment("n") == 1
    assert d.increment("n", by=10) == 11
    assert d.increment("f", 0.5) == 0.5
    assert d.update_with("s", lambda value: value + "!", "hey") == "hey!"
    with pytest.raises(ZeroDivisionError):
        d.update_with("n", lambda value: value / 0)
    assert d["n"] == 11  # fn raised: nothing changed


def test_transaction_commits_together_or_not_at_all(d: corepool.Dict) -> None:
    with d.transaction() as t:
        assert t is d
        d["a"] = 1
        d["b"] = d["a"] + 1  # reads see the transaction's own writes
        with d.transaction():  # nested blocks join the outer one
            d.increment("b")
    assert d.copy() == {"a": 1, "b": 3}
    with pytest.raises(RuntimeError), d.transaction():
        d["a"] = 100
        del d["b"]
        raise RuntimeError("abandon")
    assert d.copy() == {"a": 1, "b": 3}


def test_a_transaction_holds_off_writers_in_other_threads(d: corepool.Dict) -> None:
    inside, writer_started = threading.Event(), threading.Event()

    def writer() -> None:
        inside.wait()
        writer_started.set()
        d.update_with("x", lambda value: value * 10, 0)  # waits, then sees the result

    thread = threading.Thread(target=writer)
    thread.start()
    with d.transaction():
        d["x"] = 1
        inside.set()
        writer_started.wait()
        d["x"] = 2
    thread.join()
    assert d["x"] == 20


def test_closed_dict_raises_a_clear_error(d: corepool.Dict) -> None:
    d["a"] = 1
    d.close()
    assert d.closed
    for operation in (lambda: d["a"], lambda: d.__setitem__("a", 2), lambda: len(d), d.copy):
        with pytest.raises(SharedObjectClosedError, match=r"closed corepool\.Dict"):
            operation()
    with pytest.raises(SharedObjectClosedError):
        pickle.dumps(d)
    d.close()  # closing twice is fine
    assert repr(d) == "<corepool.Dict closed>"


@pytest.fixture
def small_memory_file_system(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pathlib.Path]:
    """A 2 MiB tmpfs where stores are made (needs the right to mount: root in a container)."""
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(tmp_path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "a full file system needs a small tmpfs of its own, and mounting one needs root "
            f"(or CAP_SYS_ADMIN): {mounted.stderr.decode().strip()}"
        )
    monkeypatch.setenv("COREPOOL_SHARED_DIR", str(tmp_path))
    try:
        yield tmp_path
    finally:
        subprocess.run(["umount", str(tmp_path)], check=True)


def test_a_full_memory_file_system_is_a_capacity_error(
    small_memory_file_system: pathlib.Path,
) -> None:
    with corepool.Dict(max_bytes=64 << 20) as big:  # allowed more than the file system has
        assert big.name.startswith(str(small_memory_file_system))
        written = 0
        with pytest.raises(CapacityError, match="the memory file system is full; nothing was"):
            while True:
                big[written] = b"x" * 1000
                written += 1
        assert len(big) == written and big[written - 1] == b"x" * 1000
    assert os.listdir(small_memory_file_system) == []  # close() removed it


def test_full_dict_raises_capacity_error_and_stays_usable() -> None:
    with corepool.Dict(max_bytes=256 * 1024) as small:
        written = 0
        with pytest.raises(CapacityError, match="max_bytes limit of 256 KiB"):
            while True:
                small[written] = b"x" * 1000
                written += 1
        assert len(small) == written
        assert small[written - 1] == b"x" * 1000
        with pytest.raises(CapacityError):
            small["big"] = b"y" * 300_000
        for key in range(written // 2):
            del small[key]
        small["after"] = b"z" * 1000  # room again once items are removed
        assert small["after"] == b"z" * 1000


def test_a_failed_constructor_leaves_nothing() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        corepool.Dict({"a": threading.Lock()})
    with pytest.raises(TypeError, match="cannot be pickled"):
        corepool.List([1, threading.Lock()])
    # the module's leak check proves their directories were removed


def test_max_bytes_is_checked() -> None:
    with pytest.raises(ValueError, match="at least 64 KiB"):
        corepool.Dict(max_bytes=1000)
    with pytest.raises(TypeError, match="max_bytes must be an int"):
        corepool.Dict(max_bytes="big")  # type: ignore[arg-type]


def test_pickling_in_the_same_process_gives_the_same_object(d: corepool.Dict) -> None:
    assert pickle.loads(pickle.dumps(d)) is d
    assert d.owner and d.name.startswith(shared_root())


def test_closing_the_owner_removes_the_files() -> None:
    import os

    shared = corepool.Dict({"a": 1})
    assert os.path.isdir(shared.name)
    shared.close()
    assert not os.path.exists(shared.name)
