"""Test root filesystems made locally, cached outside the work tree.

The cache path carries a key derived from everything that shapes the result (the recipe version, the
source binary or the package list), so a changed recipe builds a new directory instead of reusing a
stale one, and an unchanged one is never rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE_ROOT = Path(os.environ.get("HOIST_TEST_CACHE", "/var/cache/hoist-test"))
BUSYBOX_BINARY = Path("/bin/busybox")
BUSYBOX_RECIPE = "busybox-rootfs-v2"
DEBIAN_RECIPE = "debian-bookworm-minbase-v1"
DEBIAN_SUITE = "bookworm"
DEBIAN_INCLUDE: tuple[str, ...] = ("python3-minimal", "netbase")

_PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app:/home/app:/bin/sh
"""
_GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
users:x:100:app
nogroup:x:65534:
app:x:1000:
"""


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def busybox_rootfs_path() -> Path:
    key = _digest(BUSYBOX_RECIPE.encode(), BUSYBOX_BINARY.read_bytes())
    return CACHE_ROOT / f"busybox-{key}" / "rootfs"


def debian_rootfs_path() -> Path:
    key = _digest(DEBIAN_RECIPE.encode(), DEBIAN_SUITE.encode(), ",".join(DEBIAN_INCLUDE).encode(),
                  _apt_mirror().encode())
    return CACHE_ROOT / f"debian-{key}" / "rootfs"


def _apt_mirror() -> str:
    """The Debian mirror this machine's apt uses (the only package source reachable here)."""
    for candidate in (Path("/etc/apt/sources.list.d/debian.sources"),):
        if candidate.exists():
            for line in candidate.read_text().splitlines():
                if line.startswith("URIs:"):
                    return line.split()[1]
    sources = Path("/etc/apt/sources.list")
    if sources.exists():
        for line in sources.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[0] == "deb" and "security" not in fields[1]:
                return fields[1]
    return "http://deb.debian.org/debian"


def _publish(build_dir: Path, final: Path) -> None:
    """Move a finished build into place atomically; a concurrent builder that won keeps its copy."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(build_dir, final)
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(build_dir, ignore_errors=True)


def ensure_busybox_rootfs() -> Path:
    final = busybox_rootfs_path()
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app",
              "var/run", "run"):
        (build / d).mkdir(parents=True, exist_ok=True)
    os.chmod(build / "tmp", 0o1777)
    shutil.copy2(BUSYBOX_BINARY, build / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX_BINARY), "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for applet in applets:
        rel = Path(applet.lstrip("/"))
        link = build / rel
        if link.name == "busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        # Relative links, so they resolve the same inside and outside the container.
        dirs = rel.parts[:-1]
        link.symlink_to("busybox" if dirs == ("bin",) else "../" * len(dirs) + "bin/busybox")
    (build / "etc" / "passwd").write_text(_PASSWD)
    (build / "etc" / "group").write_text(_GROUP)
    if os.geteuid() == 0:
        os.chown(build / "home" / "app", 1000, 1000)
    os.chmod(build, 0o755)
    _publish(build, final)
    return final


def ensure_debian_rootfs() -> Path:
    final = debian_rootfs_path()
    if final.exists():
        return final
    if os.geteuid() != 0:
        raise RuntimeError("building the Debian test rootfs needs root (debootstrap)")
    final.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(DEBIAN_INCLUDE)}", DEBIAN_SUITE,
           str(build), _apt_mirror()]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        raise RuntimeError(f"debootstrap failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                           f"{result.stderr[-2000:]}")
    # Trim what a container image never needs, as the slim images do.
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for child in (build / junk).glob("*"):
            if child.is_file():
                child.unlink()
    _publish(build, final)
    return final
