"""Base images made on this machine, without any registry: ``hoist image base debian|busybox``.

- ``debian``: Debian bookworm from ``debootstrap --variant=minbase`` against the mirror this machine's apt
  uses (read from /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; never a hard-coded host),
  trimmed as the slim images are (no .deb cache, no package lists), tagged ``debian:bookworm-slim`` and
  ``debian:bookworm``.
- ``busybox``: Debian's busybox-static binary plus its applet links, /etc/passwd and /etc/group, tagged
  ``busybox:latest``.

Both are cached twice: the image carries an ``io.hoist.base.key`` label (recipe, inputs), so asking again for
an image the store already has with the same key does nothing; and the root filesystem is kept under
``/var/cache/hoist/bases/<key>`` so another state root imports it without running debootstrap again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.api import ImageInfo
from runtime.errors import BuildError

BASE_KEY_LABEL = "io.hoist.base.key"
CACHE_DIR = Path(os.environ.get("HOIST_BASE_CACHE", "/var/cache/hoist/bases"))
BUSYBOX_BINARY = Path("/bin/busybox")
DEBIAN_SUITE = "bookworm"
_RECIPE = "hoist-base-v2"
_PASSWD = ("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
           "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
_GROUP = "root:x:0:\ndaemon:x:1:\nusers:x:100:\nnogroup:x:65534:\n"


@dataclass(frozen=True)
class BaseRecipe:
    name: str
    tags: tuple[str, ...]
    key: str
    make_rootfs: Callable[[Path], None]
    changes: tuple[str, ...]


def apt_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive URI this machine's apt uses for the main suite (not the security archive)."""
    for path in sorted((sources_dir / "sources.list.d").glob("*.sources")):
        for block in path.read_text().split("\n\n"):
            fields = {}
            for line in block.splitlines():
                if ":" in line and not line.startswith("#"):
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
            uris = fields.get("uris", "").split()
            suites = fields.get("suites", "").split()
            if uris and "deb" in fields.get("types", "deb").split() and any(
                    s == DEBIAN_SUITE for s in suites):
                return uris[0]
    legacy = sources_dir / "sources.list"
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            words = re.sub(r"\[[^]]*\]", "", line).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == DEBIAN_SUITE:
                return words[1]
    raise BuildError("cannot find the Debian mirror apt uses on this machine",
                     hint="configure apt (/etc/apt/sources.list.d/debian.sources) with a bookworm entry")


def _key(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part + b"\0")
    return h.hexdigest()[:16]


def recipe(name: str) -> BaseRecipe:
    if name == "busybox":
        if not BUSYBOX_BINARY.is_file():
            raise BuildError(f"{BUSYBOX_BINARY} is missing", hint="apt-get install busybox-static")
        return BaseRecipe(name="busybox", tags=("busybox:latest",),
                          key=_key(_RECIPE.encode(), b"busybox", BUSYBOX_BINARY.read_bytes()),
                          make_rootfs=_busybox_rootfs, changes=('CMD ["sh"]',))
    if name == "debian":
        mirror = apt_mirror()
        return BaseRecipe(name="debian", tags=(f"debian:{DEBIAN_SUITE}-slim", f"debian:{DEBIAN_SUITE}"),
                          key=_key(_RECIPE.encode(), b"debian", DEBIAN_SUITE.encode(), mirror.encode()),
                          make_rootfs=lambda dest: _debian_rootfs(dest, mirror),
                          changes=("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                   'CMD ["bash"]'))
    raise BuildError(f"unknown base image {name!r}", hint="choose debian or busybox")


def _busybox_rootfs(dest: Path) -> None:
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var/run", "run"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX_BINARY, dest / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX_BINARY), "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for applet in applets:
        link = dest / applet.lstrip("/")
        if link.name == "busybox" or os.path.lexists(link):
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        where = Path(applet.lstrip("/")).parent  # "bin", "sbin", "usr/bin" (busybox lists them relative)
        link.symlink_to("busybox" if where == Path("bin") else "../" * len(where.parts) + "bin/busybox")
    (dest / "etc" / "passwd").write_text(_PASSWD)
    (dest / "etc" / "group").write_text(_GROUP)
    os.chmod(dest, 0o755)


def _debian_rootfs(dest: Path, mirror: str) -> None:
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed", hint="apt-get install debootstrap")
    result = subprocess.run(["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(dest), mirror],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"debootstrap failed (exit {result.returncode}): {result.stdout[-1500:]}"
                         f"{result.stderr[-1500:]}", hint=f"check that {mirror} is reachable")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for child in (dest / junk).glob("*"):
            if child.is_file():
                child.unlink()


def cached_rootfs(base: BaseRecipe, log: Callable[[str], None]) -> Path:
    """The recipe's root filesystem under the machine-wide cache, made once (published with a rename)."""
    final = CACHE_DIR / f"{base.name}-{base.key}" / "rootfs"
    if final.is_dir():
        return final
    if os.geteuid() != 0:
        raise BuildError("making a base image needs root (file ownership, debootstrap)", hint="run as root")
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    try:
        log(f"making the {base.name} root filesystem (once per machine)")
        base.make_rootfs(work)
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if final.is_dir():
            return final  # a concurrent run won
        raise
    return final


def ensure_base(engine: Any, name: str, *, force: bool = False,
                log: Callable[[str], None] = lambda _m: None) -> tuple[ImageInfo, bool]:
    """Make (or find) the base image ``name``; returns (image, made_now)."""
    base = recipe(name)
    store = engine.images
    if not force:
        try:
            info = store.resolve(base.tags[0])
        except Exception:  # noqa: BLE001 - absent or unreadable: make it
            info = None
        if info is not None and info.config.labels.get(BASE_KEY_LABEL) == base.key:
            for tag in base.tags[1:]:
                store.tag(info.id, tag)
            return store.resolve(info.id), False
    rootfs = cached_rootfs(base, log)
    log(f"importing {base.tags[0]}")
    info = store.import_directory(rootfs, base.tags[0], [*base.changes, f"LABEL {BASE_KEY_LABEL}={base.key}"],
                                  message=f"hoist image base {name}")
    for tag in base.tags[1:]:
        store.tag(info.id, tag)
    return store.resolve(info.id), True
