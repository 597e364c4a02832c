"""Test images in a test's own image store, fast: import once per machine, hardlink into each test root.

Importing the Debian rootfs takes seconds. The cached store lives under the test cache with a key covering
the rootfs and the store format, and is built by one process at a time (fcntl lock) then published with a
rename. Each test root then gets hardlinks to the cached blobs and a symlink per unpacked layer directory
(hardlinking the Debian layer's ~10k files cost 0.2-1.5 s per test on a loaded machine; a symlink costs
nothing).

Sharing is safe because the store never writes a file in place: blobs and metadata are replaced by rename,
unpacked layers are read-only overlay lower dirs, and removing a layer directory that is a symlink only
removes the link. A test that wants to corrupt a blob must replace the file (write a new one and rename),
never write into it, and must never delete files inside a layer directory.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from runtime.images.store import ImageStore
from tests.support.images import CACHE_ROOT

STORE_FORMAT = "image-store-v1"


def _key(rootfs: Path, ref: str) -> str:
    return hashlib.sha256(f"{STORE_FORMAT}\0{rootfs}\0{ref}".encode()).hexdigest()[:16]


def cached_store(rootfs: Path, ref: str) -> Path:
    """A state root whose image store holds ``rootfs`` imported as ``ref``; built once per machine."""
    final = CACHE_ROOT / f"store-{_key(rootfs, ref)}"
    if (final / "root" / "images" / "images.json").is_file():
        return final / "root"
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(CACHE_ROOT / f".store-{_key(rootfs, ref)}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if not (final / "root" / "images" / "images.json").is_file():
            build = Path(tempfile.mkdtemp(prefix=".store-build-", dir=CACHE_ROOT))
            ImageStore(build / "root").import_directory(rootfs, ref)
            shutil.rmtree(build / "root" / "images" / "tmp", ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            os.rename(build, final)
    finally:
        os.close(lock_fd)
    return final / "root"


def link_into(cached_root: Path, root: Path) -> None:
    """Hardlink a cached store's blobs and layers into ``root``'s store and merge its tags and images."""
    src_images = cached_root / "images"
    dst = ImageStore(root)
    _link_tree(src_images / "blobs", dst.dir / "blobs")
    (dst.dir / "layers").mkdir(parents=True, exist_ok=True)
    for layer in (src_images / "layers").iterdir():
        target = dst.dir / "layers" / layer.name
        if not os.path.lexists(target):
            target.symlink_to(layer)
    cached = ImageStore(cached_root)._read_metadata()
    with dst._locked():
        data = dst._read_metadata()
        for image_id, record in cached["images"].items():
            data["images"].setdefault(image_id, record)
        data["tags"].update(cached["tags"])
        data["diff_ids"].update(cached["diff_ids"])
        dst._write_metadata(data)


def _link_tree(src: Path, dst: Path) -> None:
    """cp -al that tolerates entries already present (two cached images may share blobs); a copy where the
    root is on another filesystem than the cache (a benchmark's own filesystem)."""
    if not src.is_dir():
        return
    src_s = str(src)
    for dirpath, dirnames, filenames in os.walk(src_s):
        rel = os.path.relpath(dirpath, src_s)
        target_dir = dst / rel if rel != "." else dst
        if not target_dir.exists():
            target_dir.mkdir(parents=True)
            st = os.lstat(dirpath)
            os.chown(target_dir, st.st_uid, st.st_gid)
            os.chmod(target_dir, st.st_mode & 0o7777)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            target = target_dir / name
            if not os.path.lexists(target):
                try:
                    os.link(os.path.join(dirpath, name), target, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    shutil.copy2(os.path.join(dirpath, name), target, follow_symlinks=False)
