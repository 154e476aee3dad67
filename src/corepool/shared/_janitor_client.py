"""This process's side of the janitor protocol (see ``_janitor`` for the other side).

    Segment.create/attach/close/__reduce__ ──▶ JanitorClient ──▶ one JanitorLink per janitor
                                               (process-wide)     (SOCK_SEQPACKET connection)

One ``JanitorClient`` per process owns every connection and the set of names this process holds.
After ``fork`` the child drops the parent's connections (they are the parent's identity) and
re-registers, on its own connection, every segment it inherited, so a forked child counts as a
holder from its first instruction on.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

ENV_VAR = "COREPOOL_JANITOR"
"""Address of this process tree's janitor; children started after it inherit it."""

# How long to wait for a new janitor to say it is ready (it starts in ~15 ms).
_START_TIMEOUT = 30.0


class JanitorGone(ConnectionError):
    """The janitor at an address cannot be reached (it exited or was killed)."""


class JanitorLink:
    """One connection to one janitor."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.sock.connect("\0" + address)
        except OSError as error:
            self.sock.close()
            raise JanitorGone(f"janitor {address!r} is not running: {error}") from error

    def send(self, message: str) -> None:
        try:
            self.sock.send(message.encode("ascii"))
        except OSError as error:
            raise JanitorGone(f"janitor {self.address!r} went away: {error}") from error

    def sync(self) -> None:
        self.send("S")
        try:
            reply = self.sock.recv(16)
        except OSError as error:
            raise JanitorGone(f"janitor {self.address!r} went away: {error}") from error
        if reply != b"ok":
            raise JanitorGone(f"janitor {self.address!r} went away")

    def close(self) -> None:
        self.sock.close()


def new_address() -> str:
    return f"corepool-janitor-{os.getpid()}-{secrets.token_hex(6)}"


def start_janitor(address: str | None = None) -> str:
    """Start a janitor process (detached, in its own session) at ``address``; return it.

    If a janitor already listens there (another process of the tree started it a moment ago),
    that one is used.
    """
    address = address or new_address()
    script = Path(__file__).with_name("_janitor.py")
    from multiprocessing import spawn

    executable = spawn.get_executable() or sys.executable
    process = subprocess.Popen(
        [executable, "-I", "-S", str(script), address],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        close_fds=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    with process.stdout:
        ready = process.stdout.readline()
    process.wait(_START_TIMEOUT)  # the janitor forked itself away; this reaps the launcher
    if ready not in (b"ready\n", b"exists\n"):
        raise RuntimeError(f"the shared-memory janitor failed to start (said {ready!r})")
    return address


def janitor_id(address: str) -> str:
    """The short random part of a janitor address, used in the names of its segments."""
    return address.rsplit("-", 1)[-1]


class JanitorClient:
    """Every connection of this process to a janitor, and what this process holds."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # reentrant: a finalizer may run while it is held
        self._links: dict[str, JanitorLink] = {}
        self._default: str | None = None
        self._held: dict[str, str] = {}  # name -> janitor address

    # -- addresses

    def default_address(self) -> str:
        with self._lock:
            if self._default is None or not self._reachable(self._default):
                # The tree's address is chosen when corepool is first imported (see
                # corepool/__init__.py), so that processes started before any janitor ran (a
                # forkserver, its workers) still share one; the first to need it starts it.
                address = os.environ.get(ENV_VAR) or new_address()
                if not self._reachable(address):
                    start_janitor(address)
                self._default = address
                os.environ[ENV_VAR] = address
            return self._default

    def current(self) -> str | None:
        return self._default or os.environ.get(ENV_VAR)

    def _reachable(self, address: str) -> bool:
        try:
            self._link(address)
        except JanitorGone:
            return False
        return True

    def _link(self, address: str) -> JanitorLink:
        link = self._links.get(address)
        if link is None:
            link = self._links[address] = JanitorLink(address)
            if self._default is None:
                self._default = address
        return link

    # -- messages

    def tell(self, address: str, message: str) -> None:
        with self._lock:
            link = self._link(address)
            try:
                link.send(message)
            except JanitorGone:
                self._links.pop(address, None)
                link.close()
                raise

    def hold(self, verb: str, name: str, address: str) -> None:
        """``C``, ``H`` or ``A``: this process now holds ``name``."""
        with self._lock:
            self.tell(address, f"{verb} {name}")
            self._held[name] = address

    def holds(self, name: str) -> bool:
        return name in self._held

    def holds_anything(self) -> bool:
        """Whether a fork now would hold something (the zygote is not forked then)."""
        return bool(self._held)

    def claim_new(
        self, address: str, name_for: Callable[[], str], make: Callable[[str], T]
    ) -> tuple[str, T]:
        """Make a new named object with ``make(name)``, held by this process from the start.

        The janitor hears of the name (``C``) before it exists, so a process killed right after
        ``make`` leaves nothing behind.  ``make`` raises ``FileExistsError`` when the name is
        taken (48 random bits collided with something not ours): that claim is withdrawn
        without removing anything, and another name is tried.
        """
        while True:
            name = name_for()
            if self.holds(name):  # a collision with our own object: telling would undo it
                continue
            self.hold("C", name, address)
            try:
                return name, make(name)
            except FileExistsError:
                self.withdraw(name, address)
            except BaseException:
                self.release(name, address)
                raise

    def withdraw(self, name: str, address: str) -> None:
        """Take back a ``C`` for a name that already existed (someone else's segment)."""
        with self._lock:
            if self._held.pop(name, None) is not None:
                with contextlib.suppress(JanitorGone):
                    self.tell(address, f"X {name}")

    def release(self, name: str, address: str) -> None:
        with self._lock:
            if self._held.pop(name, None) is not None:
                with contextlib.suppress(JanitorGone):
                    self.tell(address, f"R {name}")

    def arrived_again(self, name: str, address: str) -> None:
        """A pickle of a name this process already holds was unpickled.

        Sent at once rather than batched: a batch would die with a killed process and leave
        the count of pickles in flight too high (the segment would then outlive its use).
        """
        with contextlib.suppress(JanitorGone):
            self.tell(address, f"D {name} 1")

    def sync(self, address: str) -> None:
        with self._lock:
            self._link(address).sync()

    # -- fork

    def before_fork(self) -> None:
        self._lock.acquire()

    def after_fork_in_parent(self) -> None:
        self._lock.release()

    def after_fork_in_child(self) -> None:
        self._lock = threading.RLock()
        for link in self._links.values():
            link.close()  # the parent's connection stays open: the parent has its own copy
        self._links = {}
        for name, address in list(self._held.items()):
            try:
                self.tell(address, f"H {name}")
            except JanitorGone:
                del self._held[name]


CLIENT = JanitorClient()
os.register_at_fork(
    before=CLIENT.before_fork,
    after_in_parent=CLIENT.after_fork_in_parent,
    after_in_child=CLIENT.after_fork_in_child,
)
