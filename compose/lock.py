"""A per-project lock (fcntl) under the state root, so two `up` of one project converge one after the
other instead of both creating the same containers. The kernel drops the lock when a holder dies, so a
CLI killed with -9 never leaves the project locked."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from compose.errors import OperationError


def lock_path(root: Path, project: str) -> Path:
    return Path(root) / "locks" / f"project-{project}.lock"


@contextmanager
def project_lock(root: Path, project: str, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the project's lock for the block; wait for another holder (bounded if ``timeout``)."""
    path = lock_path(root, project)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise OperationError(
                        f'project "{project}" is locked by another hoist command',
                        hint=f"wait for it to finish (lock file {path})") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
