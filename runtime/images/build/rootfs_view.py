"""Read an image's merged root filesystem straight from its unpacked layer directories, without mounting.

The builder needs to look into the image it is building on (does the COPY destination exist as a directory?
what uid does ``--chown=app`` mean? what files does ``COPY --from=stage /out`` take?). Mounting an overlay
for that would leave a kernel object behind on a crash; reading the layers top-down with overlay's rules
(a 0/0 character device is a whiteout, ``trusted.overlay.opaque`` hides everything below) needs none.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_MAX_SYMLINKS = 40


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path inside the image
    host_path: str  # where the topmost copy lives on the host
    st: os.stat_result


def image_path(path: str) -> str:
    """A path inside an image in canonical form: absolute, one leading slash, no ``.``/``..``/``//``."""
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(host_path: str) -> bool:
    try:
        return os.getxattr(host_path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


class RootfsView:
    """``layers`` are the layer directories LOWEST first (as ``ImageStore.rootfs_layers`` returns them)."""

    def __init__(self, layers: list[Path]) -> None:
        self.top_down = [str(p) for p in reversed(layers)]

    def lstat(self, path: str) -> Entry | None:
        """The entry at ``path`` without following a final symlink (intermediate ones are not followed)."""
        rel = image_path(path).lstrip("/")
        if not rel:
            return None
        parts = rel.split("/")
        for layer in self.top_down:
            stop_below = False  # an opaque directory on the way hides the lower layers
            present = True
            for depth in range(1, len(parts)):
                prefix = os.path.join(layer, *parts[:depth])
                try:
                    st = os.lstat(prefix)
                except FileNotFoundError:
                    present = False
                    break
                if _is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                    return None  # a whiteout or a file in this layer hides the path in every lower one
                if _is_opaque(prefix):
                    stop_below = True
            if present:
                host = os.path.join(layer, rel)
                try:
                    st = os.lstat(host)
                except FileNotFoundError:
                    pass
                else:
                    return None if _is_whiteout(st) else Entry("/" + rel, host, st)
            if stop_below:
                return None
        return None

    def resolve(self, path: str) -> str:
        """``path`` with every symlink in it resolved inside the image (never escaping its root)."""
        parts = [p for p in image_path(path).split("/") if p]
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                continue
            candidate = "/" + "/".join([*done, part])
            entry = self.lstat(candidate)
            if entry is not None and stat.S_ISLNK(entry.st.st_mode):
                hops += 1
                if hops > _MAX_SYMLINKS:
                    return candidate
                target = os.readlink(entry.host_path)
                if target.startswith("/"):
                    done = []
                parts = [p for p in target.split("/") if p and p != "."] + parts
                continue
            done.append(part)
        return "/" + "/".join(done)

    def stat(self, path: str) -> Entry | None:
        return self.lstat(self.resolve(path)) if image_path(path) != "/" else None

    def is_dir(self, path: str) -> bool:
        if image_path(path) == "/":
            return True
        entry = self.stat(path)
        return entry is not None and stat.S_ISDIR(entry.st.st_mode)

    def listdir(self, path: str) -> list[str]:
        """Names in a directory, merged over the layers (whiteouts and opaque directories respected)."""
        rel = image_path(path).lstrip("/")
        names: dict[str, bool] = {}  # name -> visible
        for layer in self.top_down:
            host = os.path.join(layer, rel) if rel else layer
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            for name in os.listdir(host):
                if name in names:
                    continue
                child = os.lstat(os.path.join(host, name))
                names[name] = not _is_whiteout(child)
            if rel and _is_opaque(host):
                break
        return sorted(n for n, visible in names.items() if visible)

    def walk(self, path: str) -> Iterator[Entry]:
        """Every entry below ``path`` (excluded), parents before children."""
        for name in self.listdir(path):
            child = posixpath.join("/" + path.strip("/"), name) if path.strip("/") else "/" + name
            entry = self.lstat(child)
            if entry is None:
                continue
            yield entry
            if stat.S_ISDIR(entry.st.st_mode):
                yield from self.walk(child)

    def read_text(self, path: str) -> str | None:
        entry = self.stat(path)
        if entry is None or not stat.S_ISREG(entry.st.st_mode):
            return None
        with open(entry.host_path, encoding="utf-8", errors="replace") as f:
            return f.read()
