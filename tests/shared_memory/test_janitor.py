"""The janitor removes only what corepool made through it, and only at its own users' request."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from corepool.shared import _janitor, memory
from corepool.shared.memory import Segment

pytestmark = pytest.mark.timeout(60)


def test_only_its_own_store_directories_are_removed(tmp_path: Path) -> None:
    prefix = "cp-0123abcd-"
    ours = tmp_path / f"{prefix}aa.lmdb"
    others = [tmp_path / "cp-99999999-aa.lmdb", tmp_path / f"{prefix}aa", tmp_path / "data"]
    for directory in [ours, *others]:
        directory.mkdir()
        (directory / "data.mdb").write_bytes(b"x")
    _janitor._unlink(str(ours), prefix)
    assert not ours.exists()
    for directory in others:
        _janitor._unlink(str(directory), prefix)
        assert (directory / "data.mdb").exists(), directory


def test_only_its_own_segments_are_unlinked() -> None:
    shm = importlib.import_module("_posixshmem")
    foreign = "/cp-foreign-" + os.urandom(4).hex()
    os.close(shm.shm_open(foreign, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    try:
        _janitor._unlink(foreign, "cp-0123abcd-")
        assert os.path.exists("/dev/shm" + foreign)
    finally:
        shm.shm_unlink(foreign)


@pytest.mark.skipif(
    os.getuid() != 0,
    reason="proving another user is refused needs a process of another user, which only root "
    "can start",
)
def test_another_user_cannot_make_it_remove_anything() -> None:
    python = shutil.which("python3", path="/usr/bin:/bin")  # readable by any user
    if python is None:
        pytest.skip(
            "no /usr/bin/python3 that the other user can run (this interpreter may sit in a "
            "directory only root can read)"
        )
    segment = Segment.create(64)
    code = (
        "import socket, sys\n"
        "sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
        "sock.connect('\\0' + sys.argv[1])\n"
        "for message in ('H ' + sys.argv[2], 'U ' + sys.argv[2], 'R ' + sys.argv[2]):\n"
        "    try:\n"
        "        sock.send(message.encode())\n"
        "    except OSError:\n"
        "        pass\n"
    )
    done = subprocess.run(
        [python, "-I", "-c", code, segment.janitor, segment.name],
        user=65534,
        group=65534,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    memory.settle()
    assert os.path.exists("/dev/shm" + segment.name)  # the request was refused
    segment.close()
