"""The spec's mounts (bind, volume, tmpfs) and the network's /etc files, made before pivot_root."""

from __future__ import annotations

import os
import shutil

from runtime import syscalls as sc
from runtime.containers.paths import secure_join
from runtime.containers.plan import MountPlan

_PROPAGATION = {
    "private": sc.MS_PRIVATE, "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED, "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE, "rslave": sc.MS_SLAVE | sc.MS_REC,
}


def _prepare_target(rootfs: str, target: str, source_is_dir: bool) -> str:
    path = secure_join(rootfs, target)
    if source_is_dir:
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            with open(path, "a"):
                pass
    return path


def copy_image_content(src_dir: str, volume_dir: str) -> None:
    """Docker's volume copy-up: a new, empty volume gets what the image has at the mount point.

    Ownership and modes come along (a service user must own its data directory as in the image).
    """
    if not os.path.isdir(src_dir) or os.listdir(volume_dir):
        return
    for entry in os.listdir(src_dir):
        s, d = os.path.join(src_dir, entry), os.path.join(volume_dir, entry)
        if os.path.isdir(s) and not os.path.islink(s):
            shutil.copytree(s, d, symlinks=True)
        else:
            shutil.copy2(s, d, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(src_dir):
        rel = os.path.relpath(dirpath, src_dir)
        for name in [".", *dirnames, *filenames]:
            src = os.path.normpath(os.path.join(dirpath, name))
            dst = os.path.normpath(os.path.join(volume_dir, rel, name))
            st = os.lstat(src)
            os.lchown(dst, st.st_uid, st.st_gid)
            if not os.path.islink(dst):
                os.chmod(dst, st.st_mode & 0o7777)


def apply_mount(rootfs: str, m: MountPlan) -> None:
    if m.type == "tmpfs":
        target = _prepare_target(rootfs, m.target, True)
        opts = []
        if m.tmpfs_size:
            opts.append(f"size={m.tmpfs_size}")
        opts.append(f"mode={oct(m.tmpfs_mode if m.tmpfs_mode is not None else 0o1777)[2:]}")
        flags = sc.MS_NOSUID | sc.MS_NODEV | (sc.MS_RDONLY if m.read_only else 0)
        sc.mount("tmpfs", target, "tmpfs", flags, ",".join(opts))
        return
    source = m.source
    is_dir = os.path.isdir(source)
    target = _prepare_target(rootfs, m.target, is_dir)
    if m.copy_up and is_dir:
        copy_image_content(target, source)
    sc.mount(source, target, None, sc.MS_BIND | sc.MS_REC)
    if m.read_only:
        sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY)
    sc.mount(None, target, None, _PROPAGATION.get(m.propagation or "rprivate", sc.MS_PRIVATE | sc.MS_REC))


def bind_etc_file(rootfs: str, container_path: str, host_file: str) -> None:
    target = _prepare_target(rootfs, container_path, False)
    sc.mount(host_file, target, None, sc.MS_BIND)
