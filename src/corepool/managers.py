"""``corepool.managers``: ``multiprocessing.managers``, with a server hard to expose by mistake.

Everything here *is* the standard library's manager: the same classes (subclassed), the same
wire protocol, the same proxies, so a program written for ``multiprocessing.managers`` runs with
only its import changed, and a corepool worker can talk to a standard-library master and back.
One connection to a manager server, unchanged from the standard library::

    client (BaseManager.connect, a proxy)         server (Server, one thread per connection)
      Client(address, authkey) ──── TCP / unix socket ───▶ accepter thread: accept()
                                                              │ new thread per connection
      answer_challenge  ◀── HMAC challenge, both ways ──▶  deliver_challenge + answer_challenge
                                                              │ raw bytes only, nothing unpickled;
                                                              │ corepool: ≤ handshake_timeout
      dispatch(request) ─────── pickled request ────────▶  recv(): the first unpickling
                                                              ▼
                                                           the registered object's method

What corepool adds, and where:

1. ``_refuse_unsafe_server`` (called by ``start()`` and ``get_server()``, before anything binds):
   a server on a network address (anything but 127.0.0.0/8, ::1, ``localhost`` or a unix socket)
   needs an ``authkey=`` passed explicitly, of at least ``MIN_NETWORK_AUTHKEY_BYTES``.  The
   standard library silently uses ``current_process().authkey`` instead, a key nobody on another
   machine knows unless it was copied there, and accepts ``b"abc"``.  ``connect()`` is not
   checked: a client exposes nothing.
2. ``Server._handle_request``: the handshake of a new connection has ``handshake_timeout`` seconds
   to finish, so a connection that never speaks (or trickles bytes) holds its thread for that long,
   not forever; a failed handshake is closed without sending the server's traceback back to a peer
   that proved nothing.

What the key does not do: it does not encrypt (anyone on the path reads the pickles), and whoever
holds it can make the server unpickle anything, that is run any code as the server's user.
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import multiprocessing.managers as _standard
import os
import socket
import threading
from multiprocessing import connection, util
from multiprocessing.connection import Connection
from multiprocessing.managers import (
    BaseProxy,
    Namespace,
    RemoteError,
    Token,
)
from traceback import format_exc
from types import TracebackType
from typing import Any

__all__ = [
    "MIN_NETWORK_AUTHKEY_BYTES",
    "BaseManager",
    "BaseProxy",
    "Namespace",
    "RemoteError",
    "Server",
    "SharedMemoryManager",
    "SharedMemoryServer",
    "SyncManager",
    "Token",
    "is_local_address",
]

MIN_NETWORK_AUTHKEY_BYTES = 16
"""The shortest key a server on a network address accepts.  Anyone who records one handshake can
test candidate keys offline at millions per second (HMAC of a known challenge), so the key must be
beyond guessing: 16 random bytes are 128 bits, out of reach; the keys in classic examples
(``b"abc"``, ``b"abracadabra"``, ``b"secret"``) are found in seconds.  Length cannot prove
randomness: use ``secrets.token_bytes(32)``."""

HANDSHAKE_TIMEOUT_VARIABLE = "COREPOOL_MANAGER_HANDSHAKE_TIMEOUT"
DEFAULT_HANDSHAKE_TIMEOUT = 5.0
"""Seconds a new connection has to finish the key handshake (two short messages each way).  An
honest client needs one round trip, well under a second even across continents; 5 s leaves room for
a loaded machine, and bounds what a silent or trickling connection costs (one thread, one file
descriptor) to 5 s.  Set ``COREPOOL_MANAGER_HANDSHAKE_TIMEOUT`` to change it (inherited by the
server process ``start()`` launches)."""

_LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_local_address(address: object) -> bool:
    """True for addresses only this machine can reach: a unix socket path (or Windows pipe name),
    ``None`` (the manager then picks a unix socket), a loopback IP (127.0.0.0/8, ::1) or
    ``localhost``.  Host names are not resolved (that would send traffic); ``""``, ``0.0.0.0``,
    ``::`` and every other name count as network addresses."""
    if address is None or isinstance(address, (str, bytes)):
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_HOST_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _refuse_unsafe_server(address: object, authkey: bytes | None) -> None:
    """Raise ``ValueError`` before a server on a network address starts with a key that was not
    passed or is too short to resist guessing."""
    if is_local_address(address):
        return
    how = (
        "pass authkey= with a strong key shared with the workers out of band, e.g. "
        "authkey=secrets.token_bytes(32) (or bytes.fromhex(os.environ['MY_MANAGER_KEY'])); "
        "or serve on 127.0.0.1 and reach it through an SSH tunnel"
    )
    if authkey is None:
        raise ValueError(
            f"refusing to start a manager server on the network address {address!r} without "
            "an explicit authkey: anyone who can connect with the key can run any code in this "
            "process (requests are pickles), and the key inherited from current_process() is "
            f"not one the workers can know; {how}"
        )
    if len(authkey) < MIN_NETWORK_AUTHKEY_BYTES:
        raise ValueError(
            f"refusing to start a manager server on the network address {address!r} with a "
            f"{len(authkey)}-byte authkey: a key shorter than {MIN_NETWORK_AUTHKEY_BYTES} bytes "
            "can be guessed offline from one recorded handshake; " + how
        )


def _handshake_timeout() -> float:
    value = os.environ.get(HANDSHAKE_TIMEOUT_VARIABLE)
    if not value:
        return DEFAULT_HANDSHAKE_TIMEOUT
    seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"{HANDSHAKE_TIMEOUT_VARIABLE} must be positive, not {value!r}")
    return seconds


class _HandshakeDeadline:
    """Ends a handshake still running after ``seconds`` by shutting its socket down.

    The connection's thread is blocked in ``os.read``: shutting the socket down wakes it (it reads
    end-of-file), where closing the descriptor from here would not, and could hand its number to a
    new connection while the read still holds it.
    """

    def __init__(self, conn: Connection, seconds: float) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._finished = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.name = "corepool-manager-handshake-deadline"
        self._timer.daemon = True

    def __enter__(self) -> _HandshakeDeadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._finished = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            try:
                peer = socket.socket(fileno=os.dup(self._conn.fileno()))
            except OSError:  # not a socket (a Windows pipe): nothing to shut down
                return
            with peer:
                try:
                    peer.shutdown(socket.SHUT_RDWR)
                except OSError:  # the peer is already gone
                    pass


class Server(_standard.Server):
    """The standard manager server, with a deadline on the key handshake and no traceback sent to
    a peer that failed it.  One thread per connection, as in the standard library: a slow or
    hostile connection never blocks another."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handshake_timeout = _handshake_timeout()

    def _handle_request(self, c: Connection) -> None:
        # Replaces the standard _handle_request (3.10-3.13), which authenticates then answers one
        # request; handle_request() still wraps it and closes the connection.
        if self._authenticate(c):
            self._answer_request(c)

    def _authenticate(self, c: Connection) -> bool:
        """The standard HMAC challenge, both ways: the peer proves it knows the key, then the
        server does.  Only raw bytes are read until both succeeded."""
        try:
            with _HandshakeDeadline(c, self.handshake_timeout):
                connection.deliver_challenge(c, self.authkey)  # type: ignore[attr-defined]
                connection.answer_challenge(c, self.authkey)  # type: ignore[attr-defined]
        # Whatever an unauthenticated peer makes the handshake raise (a wrong digest, a bad
        # length, end of file, a malformed challenge), the answer is the same: close.
        except Exception as error:  # noqa: BLE001
            util.info("corepool manager: closed a connection that failed the handshake: %r", error)
            return False
        return True

    def _answer_request(self, c: Connection) -> None:
        """The rest of the standard ``_handle_request``: one request, one reply."""
        request = None
        try:
            request = c.recv()
            _ignored, funcname, args, kwds = request
            if funcname not in self.public:
                raise ValueError(f"{funcname!r} unrecognized")
            func = getattr(self, funcname)
        except Exception:  # noqa: BLE001 - sent back to the client as a RemoteError
            msg: tuple[str, Any] = ("#TRACEBACK", format_exc())
        else:
            try:
                result = func(c, *args, **kwds)
            except Exception:  # noqa: BLE001 - sent back to the client as a RemoteError
                msg = ("#TRACEBACK", format_exc())
            else:
                msg = ("#RETURN", result)
        try:
            c.send(msg)
        except Exception as error:  # noqa: BLE001 - an unpicklable result: say so, then log
            try:
                c.send(("#TRACEBACK", format_exc()))
            except Exception:  # noqa: BLE001 - the peer is gone; nothing else to tell it
                pass
            util.info("Failure to send message: %r", msg)
            util.info(" ... request was %r", request)
            util.info(" ... exception was %r", error)


class BaseManager(_standard.BaseManager):
    """``multiprocessing.managers.BaseManager``, refusing to serve a network address without a
    strong, explicit ``authkey`` (see the module docstring), and serving with corepool's
    ``Server``."""

    _Server: type[_standard.Server] = Server

    def __init__(
        self,
        address: Any = None,
        authkey: bytes | None = None,
        serializer: str = "pickle",
        ctx: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(address, authkey, serializer, ctx, **options)
        self._explicit_authkey = authkey

    def get_server(self) -> _standard.Server:
        """A server object with ``serve_forever()`` and ``address``, bound now."""
        _refuse_unsafe_server(self._address, self._explicit_authkey)  # type: ignore[attr-defined]
        state = self._state.value  # type: ignore[attr-defined]
        if state != _standard.State.INITIAL:  # type: ignore[attr-defined]
            if state == _standard.State.STARTED:  # type: ignore[attr-defined]
                raise multiprocessing.ProcessError("Already started server")
            if state == _standard.State.SHUTDOWN:  # type: ignore[attr-defined]
                raise multiprocessing.ProcessError("Manager has shut down")
            raise multiprocessing.ProcessError(f"Unknown state {state!r}")
        # The standard get_server builds multiprocessing's own Server, not self._Server.
        return self._Server(
            self._registry,  # type: ignore[attr-defined]
            self._address,  # type: ignore[attr-defined]
            self._authkey,  # type: ignore[attr-defined]
            self._serializer,  # type: ignore[attr-defined]
        )

    def start(self, initializer: Any = None, initargs: Any = ()) -> None:
        """Start a server process (the standard ``start``), after the address check."""
        _refuse_unsafe_server(self._address, self._explicit_authkey)  # type: ignore[attr-defined]
        super().start(initializer, initargs)


class SyncManager(BaseManager, _standard.SyncManager):
    """``multiprocessing.managers.SyncManager`` (``Queue``, ``dict``, ``Lock``, ... proxies), with
    ``BaseManager``'s address check and server."""

    # Its own copy: a BaseManager.register() call must not hide the standard registrations.
    _registry = dict(_standard.SyncManager._registry)  # type: ignore[attr-defined]


class SharedMemoryServer(Server, _standard.SharedMemoryServer):
    """The standard shared-memory server with corepool's handshake."""


class SharedMemoryManager(BaseManager, _standard.SharedMemoryManager):  # type: ignore[misc]
    """``multiprocessing.managers.SharedMemoryManager`` with the address check."""

    _Server = SharedMemoryServer


def __getattr__(name: str) -> Any:
    # Everything else a program takes from multiprocessing.managers (AutoProxy, DictProxy, ...).
    try:
        return getattr(_standard, name)
    except AttributeError:
        raise AttributeError(f"module 'corepool.managers' has no attribute {name!r}") from None
