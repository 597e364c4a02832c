"""One exclusive, cross-process lock on a file (fcntl.flock), held for a ``with`` block.

Used for what spans several steps across processes: an object family's database rows and directories
(runtime.state), the image store's metadata, a root's networks, the host's link groups and subnets. The lock
is the open file's: it goes with the descriptor, so a process that dies holding it releases it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (made, with its parent directory, if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
