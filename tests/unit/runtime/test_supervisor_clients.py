"""The supervisor's attach clients: a client that goes away is dropped once, whatever order its events come in."""

from __future__ import annotations

import selectors
import socket
from pathlib import Path

from runtime.containers.plan import LaunchPlan
from runtime.supervisor import Supervisor


def _supervisor(root: Path) -> Supervisor:
    cdir = root / "containers" / "c1"
    cdir.mkdir(parents=True)
    LaunchPlan(id="c1", name="c1", root=str(root), container_dir=str(cdir), lower_dirs=["/nonexistent"],
               args=["sh"], env=[], tty=True).save()
    return Supervisor(root, "c1")


def test_a_client_dropped_by_a_failed_send_is_not_read_again(tmp_path: Path) -> None:
    """One round of events can hold the pty's output and the departed client's EOF: the output's send to
    that client fails and drops it, and its EOF, handled next, must not touch the closed socket (it did:
    ValueError from the selector, the supervisor died and took the container with it)."""
    sup = _supervisor(tmp_path)
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sup.clients.append(ours)
    sup.sel.register(ours, selectors.EVENT_READ, "client")
    theirs.close()  # the attach client detached
    events = sup.sel.select(0)
    assert [key.data for key, _ in events] == ["client"]
    sup._to_clients(b"output while it left\n")  # the pty's output, first in the round
    assert sup.clients == []
    for key, _ in events:  # then the client's own EOF
        sup._on_ready(key)
    assert sup.clients == [] and ours.fileno() == -1
