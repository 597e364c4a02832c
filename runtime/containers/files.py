"""Small files read with plain system calls: what a freshly forked supervisor reads first. Stdlib only."""

from __future__ import annotations

import os


def read_bytes(path: str) -> bytes:
    """A whole small file with plain system calls. The first thing a freshly forked supervisor does is read
    its plan and status: through pathlib and a text-mode file (whose code and objects each forked child
    first writes to, copying their pages) one read took ~0.5 ms there (measured), this way ~0.1 ms."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return read_all(fd)
    finally:
        os.close(fd)


def read_all(fd: int) -> bytes:
    """Everything ``fd`` gives until end of file (or until every writer of a pipe has closed it)."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)
