"""Progress events of pulls and pushes, in Docker's vocabulary, for whoever wants to draw them.

The engine never prints: it calls a ``progress`` callback (possibly from several download threads at once)
with :class:`TransferEvent` values, and the CLI renders them as rich progress bars or plain lines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TransferEvent:
    """``id`` is a layer's short digest (12 hex digits) or a tag; empty for messages about the whole image.

    ``status`` uses Docker's words: "Pulling fs layer", "Already exists", "Downloading", "Download complete",
    "Extracting", "Pull complete", "Preparing", "Pushing", "Pushed", "Layer already exists", "Mounted from X",
    and, with an empty id, "Digest: sha256:...", "Status: ...".
    """

    id: str
    status: str
    current: int = 0
    total: int = 0


ProgressFn = Callable[[TransferEvent], None]


def short_id(digest: str) -> str:
    return digest.partition(":")[2][:12]


def emit(progress: ProgressFn | None, id: str, status: str, current: int = 0, total: int = 0) -> None:
    if progress is not None:
        progress(TransferEvent(id, status, current, total))
