"""A tag of the Python sources a long-lived helper process has loaded (launcher, run server).

Such a process keeps running the code it imported; after an edit or an upgrade a client must find a helper of
*its* code, so helpers name their sockets and locks by this tag. Stdlib only (os, zlib): clients compute it
on their start-up path.
"""

from __future__ import annotations

import os
import zlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (or collections): client start-up
if TYPE_CHECKING:
    from collections.abc import Sequence


def sources_tag(base: str | os.PathLike[str], dirs: Sequence[str], files: Sequence[str] = ()) -> str:
    """8 hex digits over the name, size and mtime of every ``.py`` file in ``dirs`` and of ``files`` (paths
    relative to ``base``). Per-file CRCs are XORed: the tag does not depend on the order of a listing."""
    crc = 0
    for sub in dirs:
        try:
            entries = os.scandir(os.path.join(base, sub))
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    crc ^= zlib.crc32(f"{sub}/{entry.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    for rel in files:
        try:
            st = os.stat(os.path.join(base, rel))
        except OSError:
            continue
        crc ^= zlib.crc32(f"{rel}:{st.st_size}:{st.st_mtime_ns}".encode())
    return f"{crc:08x}"
