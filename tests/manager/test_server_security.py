"""A manager server on the network: refused without a strong explicit key, and unharmed by peers
that do not know the key (a wrong key, random bytes, a pickle instead of the handshake, a
connection that never speaks).  Servers here listen on 127.0.0.1 only; network addresses are
refused before anything binds, so no traffic leaves the machine.
"""

from __future__ import annotations

import errno
import multiprocessing
import multiprocessing.managers
import pathlib
import pickle
import random
import secrets
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from manager_programs import Programs, read_address

import corepool
from corepool import managers
from corepool.managers import BaseManager, SharedMemoryManager, SyncManager

KEY = secrets.token_bytes(32)

SERVER = """\
import queue
from corepool.managers import BaseManager

jobs = queue.Queue()

def get_jobs():
    return jobs

class JobManager(BaseManager):
    pass

JobManager.register("get_jobs", callable=get_jobs)

if __name__ == "__main__":
    import os
    server = JobManager(("127.0.0.1", 0), bytes.fromhex(os.environ["KEY"])).get_server()
    print("serving at %s:%d" % server.address, flush=True)
    server.serve_forever()
"""


def serve(tmp_path: Path, handshake_timeout: float) -> Iterator[tuple[str, int]]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    environment = {"KEY": KEY.hex(), managers.HANDSHAKE_TIMEOUT_VARIABLE: str(handshake_timeout)}
    programs = Programs()
    server = programs.start(str(script), env=environment)
    try:
        yield read_address(server)
        assert server.poll() is None, "the server died"
    finally:
        programs.close()


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A server whose handshakes may take 60 s: anything that blocks it shows."""
    yield from serve(tmp_path_factory.mktemp("patient"), handshake_timeout=60)


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    yield from serve(tmp_path_factory.mktemp("strict"), handshake_timeout=1)


class JobClient(BaseManager):
    pass


JobClient.register("get_jobs")


def round_trip(address: tuple[str, int], key: bytes = KEY, seconds: float = 10) -> None:
    """A real client connects, puts a job and gets it back, within ``seconds``."""
    started = time.monotonic()
    client = JobClient(address=address, authkey=key)
    client.connect()
    jobs = client.get_jobs()  # type: ignore[attr-defined]
    token = secrets.token_hex(4)
    jobs.put(token)
    assert jobs.get(timeout=seconds) == token
    assert time.monotonic() - started < seconds


def raw_connection(address: tuple[str, int]) -> socket.socket:
    peer = socket.create_connection(address, timeout=20)
    return peer


def read_message(peer: socket.socket) -> bytes:
    """One length-prefixed message, as multiprocessing.connection frames them."""
    (size,) = struct.unpack("!i", read_exactly(peer, 4))
    return read_exactly(peer, size)


def read_exactly(peer: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = peer.recv(size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


def send_and_hang_up(peer: socket.socket, data: bytes) -> None:
    """Send ``data`` and end our side; the server may have hung up first (it closed with our
    bytes unread, which reaches us as a reset, or as "not connected" when we shut down)."""
    try:
        peer.sendall(data)
        peer.shutdown(socket.SHUT_WR)
    except (ConnectionResetError, BrokenPipeError):
        pass
    except OSError as error:
        if error.errno != errno.ENOTCONN:
            raise


def read_to_end(peer: socket.socket) -> bytes:
    """What the server still sends before it closes (a reset counts as closing: the server closed
    with our bytes unread)."""
    data = b""
    try:
        while chunk := peer.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


# -- refused before anything binds


NETWORK_ADDRESSES = [("0.0.0.0", 0), ("", 0), ("::", 0), ("192.0.2.7", 0), ("build-host", 0)]


def start(manager: Any) -> None:
    manager.start()


def get_server(manager: Any) -> None:
    manager.get_server()


@pytest.mark.parametrize("address", NETWORK_ADDRESSES, ids=repr)
@pytest.mark.parametrize("kind", [BaseManager, SyncManager, SharedMemoryManager])
@pytest.mark.parametrize("entry", [start, get_server])
def test_a_network_address_without_an_explicit_key_is_refused(
    address: tuple[str, int], kind: type[BaseManager], entry: Callable[[Any], None]
) -> None:
    assert len(multiprocessing.current_process().authkey) >= 16  # inherited, long, still refused
    manager = kind(address=address)
    with pytest.raises(ValueError, match=r"without an explicit authkey") as refusal:
        entry(manager)
    assert "secrets.token_bytes(32)" in str(refusal.value)
    assert "run any code" in str(refusal.value)


@pytest.mark.parametrize("authkey", [b"", b"abc", b"abracadabra", b"x" * 15])
def test_a_network_address_with_a_short_key_is_refused(authkey: bytes) -> None:
    with pytest.raises(ValueError, match=rf"{len(authkey)}-byte authkey.*guessed offline"):
        SyncManager(address=("0.0.0.0", 0), authkey=authkey).start()


def test_corepool_manager_with_a_network_address_is_refused_before_starting() -> None:
    before = set(multiprocessing.active_children())  # other tests' fixtures may run managers
    with pytest.raises(ValueError, match="without an explicit authkey"):
        corepool.Manager(address=("0.0.0.0", 0))
    assert set(multiprocessing.active_children()) <= before


def test_a_strong_key_lets_a_network_address_through_the_check() -> None:
    managers._refuse_unsafe_server(("0.0.0.0", 0), secrets.token_bytes(16))  # nothing binds


@pytest.mark.parametrize(
    ("address", "local"),
    [
        (("127.0.0.1", 0), True),
        (("127.9.8.7", 5000), True),
        (("::1", 0), True),
        (("::ffff:127.0.0.1", 0), True),
        (("localhost", 0), True),
        (("LOCALHOST", 0), True),
        ("/tmp/manager.sock", True),
        ("\0abstract", True),
        (None, True),
        (("0.0.0.0", 0), False),
        (("", 0), False),
        (("::", 0), False),
        (("::ffff:10.0.0.1", 0), False),
        (("10.0.0.1", 0), False),
        (("build-host", 0), False),
    ],
)
def test_which_addresses_are_local(address: object, local: bool) -> None:
    assert managers.is_local_address(address) is local


def test_loopback_keeps_the_standard_behaviour_any_key() -> None:
    server = SyncManager(address=("127.0.0.1", 0), authkey=b"abc").get_server()
    try:
        assert isinstance(server, managers.Server)
        assert server.address[0] == "127.0.0.1"  # type: ignore[index]
    finally:
        server.listener.close()  # type: ignore[attr-defined]


def test_corepool_manager_with_an_address_serves_the_standard_proxies() -> None:
    with corepool.Manager(address=("127.0.0.1", 0), authkey=KEY) as manager:
        assert isinstance(manager, multiprocessing.managers.SyncManager)
        shared = manager.dict(a=1)
        shared["b"] = 2
        assert shared.copy() == {"a": 1, "b": 2}
    with pytest.raises(TypeError, match="without address="):
        corepool.Manager(authkey=KEY)  # type: ignore[call-overload]


# -- peers without the key


def test_a_wrong_key_is_refused_and_the_server_lives_on(patient_server: tuple[str, int]) -> None:
    with pytest.raises(multiprocessing.AuthenticationError):
        JobClient(address=patient_server, authkey=secrets.token_bytes(32)).connect()
    round_trip(patient_server)


def test_the_standard_library_client_talks_to_a_corepool_server(
    patient_server: tuple[str, int],
) -> None:
    class StandardClient(multiprocessing.managers.BaseManager):
        pass

    StandardClient.register("get_jobs")
    client = StandardClient(address=patient_server, authkey=KEY)
    client.connect()
    jobs = client.get_jobs()  # type: ignore[attr-defined]
    jobs.put(1)
    assert jobs.get(timeout=10) == 1


class TouchOnUnpickle:
    """Unpickling this creates a file: proof that a server unpickled it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def test_nothing_is_unpickled_before_the_key_is_proven(
    patient_server: tuple[str, int], tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(TouchOnUnpickle(marker))
    with raw_connection(patient_server) as peer:
        assert read_message(peer).startswith(b"#CHALLENGE#")
        peer.sendall(struct.pack("!i", len(payload)) + payload)  # instead of the HMAC digest
        assert read_message(peer) == b"#FAILURE#"
        assert read_to_end(peer) == b""  # closed, and no traceback sent to a stranger
    with raw_connection(patient_server) as peer:  # a request sent before the challenge is read
        peer.sendall(struct.pack("!i", len(payload)) + payload)
        assert read_message(peer).startswith(b"#CHALLENGE#")
        assert read_message(peer) == b"#FAILURE#"
    round_trip(patient_server)
    assert not marker.exists()


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_do_not_stop_the_server(patient_server: tuple[str, int], seed: int) -> None:
    noise = random.Random(seed).randbytes(4096)
    with raw_connection(patient_server) as peer:
        send_and_hang_up(peer, noise)
    with raw_connection(patient_server) as peer:  # a length the server must not wait for
        peer.sendall(struct.pack("!i", 0x7FFFFFFF) + noise[:16])
        assert read_message(peer).startswith(b"#CHALLENGE#")
        assert read_to_end(peer) == b""  # "bad message length": closed at once
    round_trip(patient_server, seconds=5)


def test_a_silent_connection_blocks_no_other_client(patient_server: tuple[str, int]) -> None:
    with raw_connection(patient_server) as silent, raw_connection(patient_server) as trickling:
        trickling.sendall(struct.pack("!i", 100) + b"x" * 10)  # promises 100 bytes, sends 10
        round_trip(patient_server, seconds=5)
        silent.settimeout(0.2)
        assert read_message(silent).startswith(b"#CHALLENGE#")
        with pytest.raises(TimeoutError):  # still open: the server waits on it, in its own thread
            silent.recv(1)


def test_a_silent_connection_is_closed_after_the_handshake_timeout(
    strict_server: tuple[str, int],
) -> None:
    with raw_connection(strict_server) as silent:
        started = time.monotonic()
        assert read_message(silent).startswith(b"#CHALLENGE#")
        assert read_to_end(silent) == b""
        waited = time.monotonic() - started
    assert 0.5 < waited < 15, waited  # the server's handshake timeout is 1 s
    round_trip(strict_server)


def test_the_server_process_is_a_corepool_server() -> None:
    assert issubclass(managers.Server, multiprocessing.managers.Server)
    assert BaseManager._Server is managers.Server
    assert SharedMemoryManager._Server is managers.SharedMemoryServer
