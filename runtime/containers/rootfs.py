"""The container's root filesystem: overlay, /proc, /sys, a private /dev, masks, pivot_root.

Runs inside the container's fresh mount namespace (the init process, before exec); every mount made here
vanishes with the namespace, so nothing needs unmounting on the host.
"""

from __future__ import annotations

import os
import stat

from runtime import syscalls as sc
from runtime.containers.defaults import MASKED_PATHS, READONLY_PATHS
from runtime.containers.paths import secure_join

# (name, major, minor): the OCI default devices.
DEFAULT_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
                   ("tty", 5, 0))
_SPECIAL = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC


def make_mounts_private() -> None:
    """Host mounts must not see ours, and ours must not reach the host."""
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_SLAVE)


def mount_overlay(lower_dirs: list[str], upper: str, work: str, merged: str, lowerdir: str = "",
                  lowerdir_base: str = "") -> None:
    """``lowerdir`` (top first, relative to ``lowerdir_base``) when given, else ``lower_dirs`` (lowest first).

    Relative layer paths are resolved by the kernel from the current directory at mount time (Docker's
    overlay2 mounts the same way): they keep the options within one page for images of 100+ layers.
    """
    if lowerdir:
        if lowerdir_base:
            os.chdir(lowerdir_base)
        lower = lowerdir
    else:
        lower = ":".join(reversed(lower_dirs))  # overlay wants the top layer first
    sc.mount("overlay", merged, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")


def _mkdir_in(rootfs: str, path: str, mode: int = 0o755) -> str:
    target = secure_join(rootfs, path)
    os.makedirs(target, mode=mode, exist_ok=True)
    return target


def mount_special(rootfs: str, shm_size: int, cgroup_dirs: dict[str, str], host_network: bool) -> None:
    proc = _mkdir_in(rootfs, "/proc")
    sc.mount("proc", proc, "proc", _SPECIAL)
    dev = _mkdir_in(rootfs, "/dev")
    sc.mount("tmpfs", dev, "tmpfs", sc.MS_NOSUID | sc.MS_STRICTATIME, "mode=755,size=65536k")
    for name, major, minor in DEFAULT_DEVICES:
        node = os.path.join(dev, name)
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(node, 0o666)  # mknod honours the umask
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")):
        os.symlink(target, os.path.join(dev, name))
    pts = os.path.join(dev, "pts")
    os.mkdir(pts, 0o755)
    sc.mount("devpts", pts, "devpts", sc.MS_NOSUID | sc.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5")
    shm = os.path.join(dev, "shm")
    os.mkdir(shm, 0o1777)
    sc.mount("shm", shm, "tmpfs", _SPECIAL, f"mode=1777,size={shm_size}")
    mqueue = os.path.join(dev, "mqueue")
    os.mkdir(mqueue, 0o755)
    sc.mount("mqueue", mqueue, "mqueue", _SPECIAL)
    sys_dir = _mkdir_in(rootfs, "/sys")
    if host_network:
        # sysfs shows the netns of its mounter; with the host network, bind the host's (as runc does).
        sc.mount("/sys", sys_dir, None, sc.MS_BIND | sc.MS_REC)
        sc.mount(None, sys_dir, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | _SPECIAL)
    else:
        sc.mount("sysfs", sys_dir, "sysfs", _SPECIAL | sc.MS_RDONLY)
    cg = os.path.join(sys_dir, "fs", "cgroup")
    if os.path.isdir(cg):
        # The container sees its own cgroup as the hierarchy root, read-only: on v2 its one directory at
        # /sys/fs/cgroup itself; on v1 a read-only tmpfs with a directory per controller.
        unified = cgroup_dirs.get("unified")
        if unified is not None:
            _bind_read_only(unified, cg)
            return
        sc.mount("tmpfs", cg, "tmpfs", _SPECIAL, "mode=755")
        for controller, host_dir in cgroup_dirs.items():
            target = os.path.join(cg, controller)
            os.makedirs(target, exist_ok=True)
            _bind_read_only(host_dir, target)
        sc.mount(None, cg, None, sc.MS_REMOUNT | sc.MS_RDONLY | _SPECIAL, "mode=755")


def _bind_read_only(source: str, target: str) -> None:
    sc.mount(source, target, None, sc.MS_BIND)
    sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | _SPECIAL)


def make_devices(rootfs: str, devices: list[dict[str, object]]) -> None:
    """Host devices the spec passes in (``devices:``), as nodes of the same numbers, mode and owner."""
    for d in devices:
        path = secure_join(rootfs, str(d["path"]))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        kind = stat.S_IFCHR if d["type"] == "c" else stat.S_IFBLK
        os.mknod(path, int(d["mode"]) | kind, os.makedev(int(d["major"]), int(d["minor"])))  # type: ignore[call-overload]
        os.chmod(path, int(d["mode"]))  # type: ignore[call-overload]
        os.chown(path, int(d["uid"]), int(d["gid"]))  # type: ignore[call-overload]


def pivot(rootfs: str) -> None:
    """pivot_root(".", ".") then detach the old root: no put_old directory needed (LXC's trick, as runc)."""
    os.chdir(rootfs)
    sc.pivot_root(".", ".")
    sc.mount(None, ".", None, sc.MS_SLAVE | sc.MS_REC)  # the umount below must not reach the host
    sc.umount2(".", sc.MNT_DETACH)
    os.chdir("/")


def mask_paths(extra_masked: tuple[str, ...] = ()) -> None:
    """After pivot: /dev/null over masked files, an empty read-only tmpfs over masked dirs; absent ones skipped."""
    for path in MASKED_PATHS + extra_masked:
        if not os.path.lexists(path):
            continue
        if os.path.isdir(path):
            sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY, "size=0")
        else:
            sc.mount("/dev/null", path, None, sc.MS_BIND)
    for path in READONLY_PATHS:
        if not os.path.lexists(path):
            continue
        sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
        sc.mount(None, path, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | sc.MS_REC)


def remount_root_readonly() -> None:
    sc.mount(None, "/", None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY)
