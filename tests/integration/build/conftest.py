"""Helpers for build tests: write a context, build it, look inside the result."""

from __future__ import annotations

import io
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runtime.engine import open_engine
from runtime.images.build.builder import BuildEvent, BuildRequest, build
from runtime.images.build.rootfs_view import RootfsView


@dataclass
class Built:
    info: Any
    events: list[BuildEvent] = field(default_factory=list)

    @property
    def cached_steps(self) -> list[str]:
        return [e.text for e in self.events if e.kind == "cached"]

    @property
    def executed_steps(self) -> list[str]:
        """Steps that ran (not cache hits), FROM and ARG excluded."""
        started = {e.step: e.text for e in self.events
                   if e.kind == "step" and not e.text.startswith(("FROM ", "ARG "))}  # those only set scope
        cached = {e.step for e in self.events if e.kind == "cached"}
        return [text for step, text in sorted(started.items()) if step not in cached]

    @property
    def output(self) -> list[str]:
        return [e.text for e in self.events if e.kind == "output"]

    @property
    def warnings(self) -> list[str]:
        return [e.text for e in self.events if e.kind == "warning"]


class Builder:
    def __init__(self, root: Path, context: Path) -> None:
        self.root = root
        self.context = context
        self.engine = open_engine(root)
        self.last_events: list[BuildEvent] = []
        self.defaults: dict[str, Any] = {}  # BuildRequest fields every build of the test gets

    def write(self, files: dict[str, str | bytes]) -> None:
        for rel, content in files.items():
            path = self.context / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    def build(self, text: str | None = None, **kwargs: Any) -> Built:
        if text is not None:
            (self.context / "Dockerfile").write_text(text)
        events: list[BuildEvent] = []
        self.last_events = events  # kept when the build raises
        kwargs = {**self.defaults, **kwargs}
        kwargs.setdefault("tags", ["test/built:latest"])
        info = build(self.engine, BuildRequest(context=self.context, **kwargs), events.append)
        return Built(info, events)

    def view(self, image: str) -> RootfsView:
        return RootfsView(self.engine.images.rootfs_layers(image))

    def read(self, image: str, path: str) -> str | None:
        return self.view(image).read_text(path)

    def mode(self, image: str, path: str) -> tuple[int, int, int]:
        entry = self.view(image).stat(path)
        assert entry is not None, f"{path} is not in the image"
        return stat.S_IMODE(entry.st.st_mode), entry.st.st_uid, entry.st.st_gid

    def leftover_containers(self) -> list[str]:
        return [c.name for c in self.engine.container_list(all=True)]


@pytest.fixture
def builder(hoist_root: Path, busybox_image: str, tmp_path: Path) -> Iterator[Builder]:
    context = tmp_path / "context"
    context.mkdir()
    b = Builder(hoist_root, context)
    yield b
    assert not remove_default_bridge(b.engine), "a build left the default bridge network behind"


def remove_default_bridge(engine: Any) -> bool:
    """Remove the default bridge network if it exists (it must not: a build removes the one it made)."""
    from runtime.errors import RuntimeErrorBase

    try:
        engine.network_remove("bridge")
        return True
    except RuntimeErrorBase:
        return False


def make_tar(files: dict[str, bytes], compress: str = "gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compress}") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o640
            info.uid, info.gid = 7, 8
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()

