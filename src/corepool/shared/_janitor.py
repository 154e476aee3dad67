"""The janitor: the process that removes shared memory nobody holds any more.

    process A ─┐  C/H/A/R/P/D/L/K/U messages   ┌─────────────────────────────┐   shm_unlink
    process B ─┼─ SOCK_SEQPACKET (abstract) ──▶│ janitor: who holds each name │──▶ (segments)
    process C ─┘  one connection per process   └─────────────────────────────┘   rm dir (stores)

It looks after two kinds of names, both made by corepool with this janitor's id in them:

* ``/cp-<id>-<random>``: a POSIX shared-memory segment (``memory.Segment``: locks, queues,
  values, ``SharedArray``, large task arguments and results), removed with ``shm_unlink``;
* ``<dir>/cp-<id>-<random>.lmdb``: the directory of a ``Dict`` or ``List`` (its LMDB files),
  removed with the files in it.

Names of any other form are never removed, and connections from other users are refused (an
abstract socket has no file permissions), so the janitor cannot be used to delete anything else.

Every process that creates or attaches one keeps one connection to its tree's janitor and
tells it what it holds.  A connection that closes (the process exited, crashed or was killed
with SIGKILL) releases everything that process held, so the kernel's own bookkeeping of open
sockets is what makes cleanup survive crashes.  A name is unlinked when

* no connected process holds it, and
* no pickled handle of it is still in flight (pickled ``P`` more often than unpickled ``D``/``A``),
* and its parent segment (``L``), if any, is gone,
* and no value stored in a live Dict or List names it (``K``).

When the last connection closes, the janitor unlinks whatever is left and exits.

This file runs as a script (``python -I -S _janitor.py ADDRESS``) and imports only C modules of
the standard library (their Python wrappers, with ``enum`` and ``collections``, took ~16 ms of
the start that every program's first shared object waits for): it starts in about a bare
interpreter's time and cannot be broken by the user's environment.  It never prints
in normal operation; the readiness line goes to stdout, which the starter reads and closes.

Messages are ASCII, one per datagram: ``<verb> <name> [<arg>]``.

    C name          created: the sender holds it
    H name          holds it (attached by name, or re-registered after fork)
    A name          attached by unpickling: holds it, and one in-flight pickle arrived
    D name count    ``count`` more pickles of a name it already holds arrived
    P name          a handle was pickled: one more in flight
    R name          released its hold
    X name          withdraw a ``C`` whose name turned out to exist already: drop the hold,
                    and forget the name (without unlinking) if nobody else holds it
    L child parent  ``child`` lives at least as long as ``parent``
    K store name    a value stored in ``store`` (a Dict or List) names ``name``: kept while the
                    store lives, or until ``k`` (see ``_kept``); counted, one per stored value
    k store name    a value of ``store`` that named ``name`` was replaced or deleted
    U name          unlink now (the owner ended it early)
    S               sync: reply ``ok`` once everything received so far is processed
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal.py's C half, no stubs
import _socket
import os
import select
import sys
from _struct import Struct

# A process that started a janitor gets 30 s to connect; longer means it died on the way.
_FIRST_CONNECTION_TIMEOUT = 30.0
# With every connection closed but a handle pickled and not yet unpickled (a worker returned a
# segment and exited), the janitor waits this long for the receiver to connect and claim it.
_IN_FLIGHT_GRACE = 60.0
_MAX_MESSAGE = 4096


STORE_SUFFIX = ".lmdb"
"""The ending of a store directory's name (``_store.py`` makes them)."""


def _unlink(name: str, prefix: str) -> None:
    """Remove what ``name`` stands for, if it is one of ours (``prefix`` is ``cp-<id>-``)."""
    if name.startswith("/" + prefix) and "/" not in name[1:]:
        import importlib

        try:
            importlib.import_module("_posixshmem").shm_unlink(name)
        except (OSError, ValueError):  # gone already, or not a valid name
            pass
        return
    base = os.path.basename(name)
    if os.path.isabs(name) and base.startswith(prefix) and base.endswith(STORE_SUFFIX):
        _remove_directory(name)


def _remove_directory(path: str) -> None:
    """A store's directory and the files in it (LMDB's data.mdb and lock.mdb: no subdirectories)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return  # gone already (its owner removed it), or not a directory
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


class Registry:
    """Who holds which name; decides when a name is removed.

    ``prefix`` is ``cp-<janitor id>-``: only names made with it are ever removed.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.holders: dict[str, set[int]] = {}
        self.in_flight: dict[str, int] = {}
        self.parent: dict[str, str] = {}
        self.children: dict[str, set[str]] = {}
        self.held_by: dict[int, set[str]] = {}
        self.kept: dict[str, dict[str, int]] = {}
        """store -> name -> how many of its values name it (``K`` minus ``k``)."""
        self.keepers: dict[str, int] = {}
        """name -> how many stored values, in all stores, name it."""
        self.dirty: set[str] = set()

    def hold(self, conn: int, name: str) -> None:
        self.holders.setdefault(name, set()).add(conn)
        self.held_by.setdefault(conn, set()).add(name)
        self.in_flight.setdefault(name, 0)

    def release(self, conn: int, name: str) -> None:
        self.holders.get(name, set()).discard(conn)
        self.held_by.get(conn, set()).discard(name)
        self.dirty.add(name)

    def withdraw(self, conn: int, name: str) -> None:
        self.holders.get(name, set()).discard(conn)
        self.held_by.get(conn, set()).discard(name)
        if self._unused(name):  # known only through the withdrawn claim: not ours to unlink
            self.holders.pop(name, None)
            self.in_flight.pop(name, None)

    def arrived(self, name: str, count: int) -> None:
        if name in self.in_flight:
            self.in_flight[name] -= count
            self.dirty.add(name)

    def pickled(self, name: str) -> None:
        if name in self.in_flight:
            self.in_flight[name] += 1

    def link(self, child: str, parent: str) -> None:
        if parent in self.in_flight:
            self.in_flight.setdefault(child, 0)
            self.parent[child] = parent
            self.children.setdefault(parent, set()).add(child)

    def keep(self, store: str, name: str) -> None:
        if store in self.in_flight and name in self.in_flight:
            names = self.kept.setdefault(store, {})
            names[name] = names.get(name, 0) + 1
            self.keepers[name] = self.keepers.get(name, 0) + 1

    def let_go(self, store: str, name: str, count: int = 1) -> None:
        names = self.kept.get(store, {})
        count = min(count, names.get(name, 0))
        if count <= 0:
            return
        names[name] -= count
        if not names[name]:
            del names[name]
        self.let_go_all(name, count)

    def disconnect(self, conn: int) -> None:
        for name in self.held_by.pop(conn, set()):
            self.holders.get(name, set()).discard(conn)
            self.dirty.add(name)

    def sweep(self) -> None:
        while self.dirty:
            name = self.dirty.pop()
            if name in self.in_flight and self._unused(name):
                self.forget(name)

    def _unused(self, name: str) -> bool:
        return (
            not self.holders.get(name)
            and self.in_flight.get(name, 0) <= 0
            and name not in self.parent
            and name not in self.keepers
        )

    def forget(self, name: str) -> None:
        """Unlink ``name`` and release the children that lived only for it."""
        _unlink(name, self.prefix)
        for conn in self.holders.pop(name, set()):
            self.held_by.get(conn, set()).discard(name)
        self.in_flight.pop(name, None)
        self.keepers.pop(name, None)  # unlinked early (``U``): stores that name it read nothing
        parent = self.parent.pop(name, None)
        if parent is not None:
            self.children.get(parent, set()).discard(name)
        for child in self.children.pop(name, set()):
            self.parent.pop(child, None)
            self.dirty.add(child)
        for kept, count in self.kept.pop(name, {}).items():
            self.let_go_all(kept, count)

    def let_go_all(self, name: str, count: int) -> None:
        """A removed store kept ``name`` ``count`` times."""
        left = self.keepers.get(name, 0) - count
        if left > 0:
            self.keepers[name] = left
        else:
            self.keepers.pop(name, None)
        self.dirty.add(name)

    def has_in_flight(self) -> bool:
        return any(count > 0 for count in self.in_flight.values())

    def forget_all(self) -> None:
        for name in list(self.in_flight):
            _unlink(name, self.prefix)
        self.in_flight.clear()


_BETWEEN_TWO_NAMES = {"L": Registry.link, "K": Registry.keep, "k": Registry.let_go}
"""The verbs that relate two names (``L child parent``, ``K store name``, ``k store name``)."""

_PEER_CREDENTIALS = Struct("3i")  # struct ucred: pid, uid, gid
_ANY_EVENT = select.POLLIN  # hang-ups and errors are always reported too: recv then says which


def _same_user(conn: _socket.socket) -> bool:
    try:
        raw = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _PEER_CREDENTIALS.size)
    except OSError:
        return False
    uid: int = _PEER_CREDENTIALS.unpack(raw)[1]
    return uid == os.getuid()


class Janitor:
    def __init__(self, listener: _socket.socket, prefix: str) -> None:
        self.listener = listener
        self.registry = Registry(prefix)
        self.poller = select.poll()
        self.poller.register(listener.fileno(), _ANY_EVENT)
        self.connections: dict[int, _socket.socket] = {}
        self.ever_connected = False

    def run(self) -> None:
        while True:
            ready = self._ready(self._wait_limit())
            if not ready and (not self.ever_connected or not self.connections):
                break  # nobody came: the starter died, or a pickle in flight was never used
            for sock in ready:
                self._on_readable(sock)
            self.registry.sweep()
            idle = self.ever_connected and not self.connections and not self._accept_pending()
            if idle and not self.registry.has_in_flight():
                break
        self.registry.forget_all()

    def _ready(self, timeout: float | None) -> list[_socket.socket]:
        """Sockets with something to read, as objects (as ``selectors`` gave them): one closed
        during the batch shows ``fileno() == -1``, never a new connection reusing its fd."""
        events = self.poller.poll(None if timeout is None else timeout * 1000)
        listening = self.listener.fileno()
        return [self.listener if fd == listening else self.connections[fd] for fd, _ in events]

    def _wait_limit(self) -> float | None:
        if not self.ever_connected:
            return _FIRST_CONNECTION_TIMEOUT
        if not self.connections:
            return _IN_FLIGHT_GRACE
        return None

    def _accept_pending(self) -> bool:
        self.listener.setblocking(False)
        try:
            self._accept()
        except BlockingIOError:
            return False
        finally:
            self.listener.setblocking(True)
        return True

    def _on_readable(self, sock: _socket.socket) -> None:
        if sock.fileno() < 0:
            # Closed earlier in this round: a sync request handled first read its EOF.  Its
            # event was still in the batch; closing it again crashed the janitor (CI, 3.11).
            return
        if sock is self.listener:
            self._accept()
            return
        try:
            data = sock.recv(_MAX_MESSAGE)
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return
        try:
            self._handle(sock, data.decode("ascii", "replace").split())
        except ValueError:  # a malformed message must not take the janitor down
            pass

    def _accept(self) -> None:
        # socket.socket.accept's C half (not in the stubs): a bare fd
        fd, _ = self.listener._accept()  # type: ignore[attr-defined]
        conn = _socket.socket(fileno=fd)
        if not _same_user(conn):
            conn.close()
            return
        self.connections[fd] = conn
        self.poller.register(fd, _ANY_EVENT)
        self.ever_connected = True

    def _close(self, sock: _socket.socket) -> None:
        fd = sock.fileno()
        self.poller.unregister(fd)
        self.connections.pop(fd, None)
        self.registry.disconnect(fd)
        sock.close()

    def _handle(self, sock: _socket.socket, words: list[str]) -> None:
        registry, conn = self.registry, sock.fileno()
        verb, args = (words[0], words[1:]) if words else ("", [])
        if verb in ("C", "H") and args:
            registry.hold(conn, args[0])
        elif verb == "A" and args:
            registry.hold(conn, args[0])
            registry.arrived(args[0], 1)
        elif verb == "D" and len(args) == 2:
            registry.arrived(args[0], int(args[1]))
        elif verb == "P" and args:
            registry.pickled(args[0])
        elif verb == "R" and args:
            registry.release(conn, args[0])
        elif verb == "X" and args:
            registry.withdraw(conn, args[0])
        elif verb in _BETWEEN_TWO_NAMES and len(args) == 2:
            _BETWEEN_TWO_NAMES[verb](registry, args[0], args[1])
        elif verb == "U" and args:
            if args[0] in registry.in_flight:
                registry.forget(args[0])
            else:
                _unlink(args[0], registry.prefix)
        elif verb == "S":
            self._sync(sock)

    def _sync(self, sock: _socket.socket) -> None:
        # Process whatever else is already readable (connections that closed just before this
        # request, messages from other processes), so ``ok`` means "all that happened before".
        # Loop: a connection accepted in one round may already hold messages and its EOF.
        while True:
            ready = [other for other in self._ready(0) if other is not sock]
            if not ready:
                break
            for other in ready:
                self._on_readable(other)
        self.registry.sweep()
        try:
            sock.send(b"ok")
        except OSError:
            pass


def main(address: str) -> None:
    listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    try:
        listener.bind("\0" + address)
    except OSError:  # another process of the tree started the janitor just before us
        sys.stdout.write("exists\n")
        sys.stdout.flush()
        return
    listener.listen(64)
    if os.fork() != 0:  # detach: the starter reaps the first child, init adopts the janitor
        os._exit(0)
    os.setsid()
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)
    janitor = Janitor(listener, f"cp-{address.rsplit('-', 1)[-1]}-")
    _signal.signal(_signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the starter waits for EOF on the pipe, not just the line
    os.close(devnull)
    try:
        janitor.run()
    finally:
        janitor.registry.forget_all()


if __name__ == "__main__":
    main(sys.argv[1])
