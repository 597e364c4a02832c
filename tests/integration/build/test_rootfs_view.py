"""Reading merged layers without mounting: whiteouts, opaque directories, symlinks (needs root: mknod, xattr)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runtime.images.build.rootfs_view import RootfsView


def test_whiteouts_opaque_dirs_and_symlinks(tmp_path: Path) -> None:
    low, mid, top = (tmp_path / n for n in ("low", "mid", "top"))
    for d in (low, mid, top):
        d.mkdir()
    (low / "etc").mkdir()
    (low / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
    (low / "etc" / "gone").write_text("x")
    (low / "data").mkdir()
    (low / "data" / "old").write_text("old")
    (low / "lib").symlink_to("usr/lib")
    (low / "usr" / "lib").mkdir(parents=True)
    (low / "usr" / "lib" / "libc.so").write_text("c")
    # mid: a whiteout for /etc/gone, /data made opaque with new content
    (mid / "etc").mkdir()
    os.mknod(mid / "etc" / "gone", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (mid / "data").mkdir()
    os.setxattr(mid / "data", "trusted.overlay.opaque", b"y")
    (mid / "data" / "new").write_text("new")
    # top: overrides passwd
    (top / "etc").mkdir()
    (top / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    view = RootfsView([low, mid, top])
    assert view.read_text("/etc/passwd") == "root:x:0:0::/root:/bin/sh\n"
    assert view.lstat("/etc/gone") is None
    assert view.listdir("/etc") == ["passwd"]
    assert view.listdir("/data") == ["new"] and view.lstat("/data/old") is None
    assert view.resolve("/lib/libc.so") == "/usr/lib/libc.so"
    assert view.read_text("/lib/libc.so") == "c"
    assert view.is_dir("/") and view.is_dir("/lib") and not view.is_dir("/etc/passwd")
    assert [e.path for e in view.walk("/usr")] == ["/usr/lib", "/usr/lib/libc.so"]
    # A symlink cannot lead out of the image.
    (top / "escape").symlink_to("/../../../../etc")
    assert view.resolve("/escape/hostname") == "/etc/hostname"
