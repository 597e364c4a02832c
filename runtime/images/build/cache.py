"""The layer cache: build step key -> the image state that step produced.

A step's key chains everything that determines its result: the previous step's key (so the base image and
every earlier step are in it), the instruction after substitution, the build args it could read, and for
COPY/ADD a digest of the files it reads. Equal key, equal result: a cache hit skips the step entirely (no
container for a RUN, no file copied for a COPY).

Entries live one file per key under ``<root>/build-cache/steps/`` and are written atomically, so concurrent
builds never see half an entry and never need a lock. An entry is only trusted while every layer blob it
names is still in the image store (``hoist image prune`` can remove them).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_FORMAT = "hoist-build-cache-v1"


def step_key(parent: str, *parts: Any) -> str:
    """The key of a step: a digest of its parent's key and a canonical JSON of what the step depends on."""
    payload = json.dumps([CACHE_FORMAT, parent, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class ImageState:
    """What a build has produced so far in one stage: an image config document and its layers."""

    config: dict[str, Any]  # the full image config (architecture, os, config, history, rootfs)
    layers: list[str] = field(default_factory=list)  # layer blob digests, lowest first
    diff_ids: list[str] = field(default_factory=list)
    image_id: str | None = None  # an image in the store holding exactly this state, if one was written

    def to_json(self) -> dict[str, Any]:
        return {"config": self.config, "layers": self.layers, "diff_ids": self.diff_ids, "image_id": self.image_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageState:
        return cls(config=data["config"], layers=list(data["layers"]), diff_ids=list(data["diff_ids"]),
                   image_id=data.get("image_id"))

    def copy(self) -> ImageState:
        return ImageState.from_json(json.loads(json.dumps(self.to_json())))


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "build-cache" / "steps"

    def _path(self, key: str) -> Path:
        return self.dir / key.removeprefix("sha256:")

    def get(self, key: str, blob_exists: Any) -> ImageState | None:
        """The cached state for ``key``, if every layer it needs is still stored (``blob_exists(digest)``)."""
        try:
            data = json.loads(self._path(key).read_text())
            state = ImageState.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not all(blob_exists(d) for d in state.layers):
            return None
        return state

    def put(self, key: str, state: ImageState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=self.dir)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(state.to_json(), f, sort_keys=True, separators=(",", ":"))
            os.replace(tmp, self._path(key))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def clear(self) -> int:
        """Remove every entry (``hoist builder prune``-style); returns how many there were."""
        count = 0
        if self.dir.is_dir():
            for entry in self.dir.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    count += 1
        return count
