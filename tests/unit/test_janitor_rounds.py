"""The janitor handles a round of readable sockets in which one request closes another: a sync
request reads every other readable socket first, so a connection whose end it read is closed
before its own event in the same round comes up (this crashed the janitor, and every process's
shared memory with it, in a CI run)."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest

from corepool.shared._janitor import Janitor

pytestmark = pytest.mark.timeout(30)


def test_a_socket_closed_earlier_in_the_round_is_skipped() -> None:
    path = os.path.join(tempfile.mkdtemp(), "janitor")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    janitor = Janitor(listener, "/cp-test-")
    syncing, leaving = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    syncing.connect(path)
    leaving.connect(path)
    janitor._on_readable(listener)
    janitor._on_readable(listener)
    ours_syncing, ours_leaving = (janitor.connections[fd] for fd in sorted(janitor.connections))
    leaving.close()
    syncing.send(b"S")
    # One round: the sync request first (it reads the other socket's end and closes it)...
    janitor._on_readable(ours_syncing)
    assert syncing.recv(2) == b"ok"
    assert ours_leaving.fileno() == -1
    # ... then the closed socket's own event, from the same batch.
    janitor._on_readable(ours_leaving)
    assert list(janitor.connections.values()) == [ours_syncing]
    syncing.close()
    ours_syncing.close()
    listener.close()
    os.unlink(path)
    os.rmdir(os.path.dirname(path))
