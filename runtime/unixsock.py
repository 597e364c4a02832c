"""The listening socket of a per-root helper server (launcher, run server): one at a time per path.

Its owner holds a lock while it lives, so a socket file found at start-up is a dead server's and is
replaced; at the end the owner removes the file only if it is still its own (a newer server may have
replaced it meanwhile).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def listen_private(path: Path, backlog: int = 64) -> tuple[socket.socket, int]:
    """A listening unix socket at ``path``, mode 0600 from the start (no moment where others could
    connect), and the inode of its file for ``unlink_if_ours``. Call before starting threads: the umask is
    the process's."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    old_mask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_mask)
    listener.listen(backlog)
    return listener, path.stat().st_ino


def unlink_if_ours(path: Path, inode: int) -> None:
    """Remove the socket file unless another server has put its own there since."""
    try:
        if path.stat().st_ino == inode:
            path.unlink()
    except FileNotFoundError:
        pass
