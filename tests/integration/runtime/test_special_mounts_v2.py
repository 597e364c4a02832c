"""/sys/fs/cgroup inside a container whose cgroup is on cgroup v2: the container's own directory, read-only.

This host is hybrid (its containers use the v1 hierarchies), so the v2 case is exercised on its cgroup2 mount
directly: ``rootfs.mount_special`` runs in a child with a mount namespace of its own, as PID 1 does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from runtime import naming
from runtime import syscalls as sc
from runtime.containers import rootfs

CGROUP2 = Path("/sys/fs/cgroup/unified")
if not (CGROUP2 / "cgroup.procs").exists():
    CGROUP2 = Path("/sys/fs/cgroup")  # a pure v2 host
pytestmark = pytest.mark.skipif(not (CGROUP2 / "cgroup.procs").exists(), reason="no cgroup2 mount")
CGROUP2_MAGIC = 0x63677270


def _mounted_in_child(root_dir: Path, cgroup_dirs: dict[str, str]) -> dict[str, object]:
    """mount_special in a fresh mount namespace (a forked child); what /sys/fs/cgroup then is."""
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(out_r)
            sc.unshare(sc.CLONE_NEWNS)
            rootfs.make_mounts_private()
            try:
                rootfs.mount_special(str(root_dir), 65536, cgroup_dirs, host_network=False)
                cg = root_dir / "sys" / "fs" / "cgroup"
                st = os.statvfs(cg)
                report = {"error": "", "read_only": bool(st.f_flag & os.ST_RDONLY),
                          "entries": sorted(os.listdir(cg)),
                          "cgroup2": _fs_magic(str(cg)) == CGROUP2_MAGIC}
            except OSError as exc:
                report = {"error": str(exc)}
            os.write(out_w, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(out_w)
    with os.fdopen(out_r, "rb") as out:
        data = out.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def _fs_magic(path: str) -> int:
    """statfs(2)'s f_type (os.statvfs does not give it)."""
    import ctypes

    buf = ctypes.create_string_buffer(128)  # struct statfs; f_type is its first field (a long)
    if ctypes.CDLL(None, use_errno=True).statfs(path.encode(), buf) != 0:
        raise OSError(ctypes.get_errno(), "statfs")
    return int.from_bytes(buf.raw[:8], "little")


def test_a_v2_cgroup_is_the_containers_whole_read_only_cgroup_fs(hoist_root: Path, tmp_path: Path) -> None:
    parent = CGROUP2 / naming.cgroup_parent(hoist_root)
    mine = parent / "special-mounts"
    mine.mkdir(parents=True)
    try:
        (mine / "marker-dir").mkdir()  # a child cgroup: shows that the view is this directory
        root_dir = tmp_path / "rootfs"
        (root_dir / "sys").mkdir(parents=True)
        report = _mounted_in_child(root_dir, {"unified": str(mine)})
        assert report["error"] == ""
        assert report["cgroup2"] and report["read_only"]
        assert "marker-dir" in report["entries"] and "cgroup.procs" in report["entries"]
    finally:
        for d in (mine / "marker-dir", mine, parent):
            d.rmdir()
