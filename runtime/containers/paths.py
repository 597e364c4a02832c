"""Resolve a container path inside a host rootfs directory without ever leaving it (symlinks included)."""

from __future__ import annotations

import os

_MAX_LINKS = 255


def secure_join(rootfs: str, path: str) -> str:
    """``rootfs/path`` with every symlink resolved as the container would see it, clamped to rootfs.

    A symlink such as ``/etc -> /../../host`` must not let a mount target escape: ``..`` at the top stays at
    the top, and absolute links restart at rootfs (the class of bug behind CVE-2021-30465).
    """
    parts = [p for p in path.split("/") if p]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(rootfs, *resolved, part)
        if os.path.islink(candidate):
            links += 1
            if links > _MAX_LINKS:
                raise OSError(40, f"too many levels of symbolic links in {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    return os.path.join(rootfs, *resolved)
