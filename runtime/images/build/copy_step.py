"""COPY and ADD: write the new layer into a staging directory (no container involved).

The staging directory stands for the image's root: the destination's parent directories are recreated in it
with the metadata they have in the image (or root 0755 when new), then the sources are copied in with the
ownership COPY gives them (0:0, ``--chown``, or kept for ``--from``) and ``--chmod``. ADD also unpacks local
tar archives (plain, gzip, bzip2, xz) into the destination and downloads http(s) URLs.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import BuildError
from runtime.images.build.rootfs_view import RootfsView, image_path

_TAR_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


@dataclass(frozen=True)
class Item:
    """One thing to copy: a host file/dir/symlink (or inline content) going to ``dest`` in the image."""

    dest: str  # absolute path in the image
    host_path: Path | None  # None for inline content (heredocs)
    st: os.stat_result | None
    content: bytes | None = None
    keep_owner: bool = False  # --from copies keep ownership unless --chown


class LayerWriter:
    """Builds one layer in ``staging`` for an image whose current root filesystem is ``view``."""

    def __init__(self, staging: Path, view: RootfsView | None, owner: Owner | None, chmod: int | None,
                 warn: Callable[[str], None]) -> None:
        self.staging = staging
        self.view = view
        self.owner = owner
        self.chmod = chmod
        self.warn = warn
        self._made: set[str] = set()
        self._real = os.path.realpath(staging)

    def _check_inside(self, target: Path) -> None:
        """Refuse to write through a symlink that leads out of the layer (a hostile archive or context)."""
        parent = os.path.realpath(target.parent)
        if parent != self._real and not parent.startswith(self._real + os.sep):
            raise BuildError(f"refusing to write {target.relative_to(self.staging)}: a symlink on its path "
                             "leads outside the image", hint="the archive or context holds such a symlink")

    def _real_dir(self, target: Path) -> None:
        """``target`` as a real directory: a symlink or file there (from an earlier source) is replaced."""
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            target.unlink()
        if not target.is_dir():
            self._check_inside(target)
            target.mkdir()

    def host(self, path_in_image: str) -> Path:
        rel = image_path(path_in_image).lstrip("/")
        return self.staging / rel if rel else self.staging

    def ensure_dir(self, path_in_image: str, *, new_owner: Owner | None = None) -> None:
        """Make ``path_in_image`` and its parents exist in the layer, with the image's metadata when it has them."""
        path = image_path(path_in_image)
        if path == "/" or path in self._made:
            return
        self.ensure_dir(posixpath.dirname(path))
        target = self.host(path)
        existing = self.view.stat(path) if self.view is not None else None
        if existing is not None and not stat.S_ISDIR(existing.st.st_mode):
            existing = None
        self._real_dir(target)
        if existing is not None:
            os.chmod(target, stat.S_IMODE(existing.st.st_mode))
            os.lchown(target, existing.st.st_uid, existing.st.st_gid)
            os.utime(target, ns=(existing.st.st_atime_ns, existing.st.st_mtime_ns))
        else:
            owner = new_owner or Owner(0, 0)
            os.chmod(target, 0o755)
            os.lchown(target, owner.uid, owner.gid)
        self._made.add(path)

    def _owner_for(self, item: Item) -> Owner:
        if self.owner is not None:
            return self.owner
        if item.keep_owner and item.st is not None:
            return Owner(item.st.st_uid, item.st.st_gid)
        return Owner(0, 0)

    def add(self, item: Item) -> None:
        dest = image_path(item.dest)
        self.ensure_dir(posixpath.dirname(dest))
        target = self.host(dest)
        self._check_inside(target)
        owner = self._owner_for(item)
        is_dir_item = item.st is not None and stat.S_ISDIR(item.st.st_mode)
        if target.is_dir() and not target.is_symlink() and not is_dir_item:
            shutil.rmtree(target)
        elif target.is_symlink() or target.is_file():
            target.unlink()
        if item.content is not None:
            target.write_bytes(item.content)
            mode = 0o644
        else:
            assert item.host_path is not None and item.st is not None
            st = item.st
            if stat.S_ISDIR(st.st_mode):
                self._real_dir(target)
                mode = stat.S_IMODE(st.st_mode)
                self._made.add(dest)
            elif stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(item.host_path), target)
                os.lchown(target, owner.uid, owner.gid)
                return
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(item.host_path, target, follow_symlinks=False)
                mode = stat.S_IMODE(st.st_mode)
            else:
                self.warn(f"skipped {item.host_path}: COPY does not copy devices, sockets or fifos")
                return
        if self.chmod is not None:
            mode = self.chmod
        os.chmod(target, mode)
        os.lchown(target, owner.uid, owner.gid)
        if item.st is not None:
            os.utime(target, ns=(item.st.st_atime_ns, item.st.st_mtime_ns), follow_symlinks=False)

    def add_dir_itself(self, dest: str, st: os.stat_result | None, keep_owner: bool) -> None:
        """The destination directory of a directory copy: existing -> keep its metadata; new -> source's."""
        path = image_path(dest)
        if path == "/":
            return
        if self.view is not None and self.view.is_dir(path):
            self.ensure_dir(path)
            return
        self.ensure_dir(posixpath.dirname(path))
        target = self.host(path)
        self._real_dir(target)
        owner = self.owner or (Owner(st.st_uid, st.st_gid) if keep_owner and st is not None else Owner(0, 0))
        mode = self.chmod if self.chmod is not None else (stat.S_IMODE(st.st_mode) if st is not None else 0o755)
        os.chmod(target, mode)
        os.lchown(target, owner.uid, owner.gid)
        self._made.add(path)

    def extract_archive(self, archive: Path, dest: str) -> None:
        """ADD of a local tar archive: unpack it into ``dest`` (kept owners and modes, nothing outside)."""
        self.add_dir_itself(dest, None, keep_owner=False)
        base = self.host(dest)
        with tarfile.open(archive, "r:*") as tar:
            for member in tar.getmembers():
                name = posixpath.normpath(member.name.lstrip("/"))
                if name in (".", "") or name == ".." or name.startswith("../"):
                    continue
                self.ensure_dir(posixpath.join(dest, posixpath.dirname(name)) if posixpath.dirname(name) else dest)
                target = base / name
                self._check_inside(target)
                if member.isdir():
                    self._real_dir(target)
                elif member.issym():
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    elif target.is_symlink() or target.exists():
                        target.unlink()
                    os.symlink(member.linkname, target)
                elif member.islnk():
                    source = base / posixpath.normpath(member.linkname.lstrip("/"))
                    if target.exists() or target.is_symlink():
                        target.unlink()
                    real_source = os.path.realpath(source)
                    if source.exists() and real_source.startswith(self._real + os.sep):
                        os.link(real_source, target)
                    continue
                elif member.isreg():
                    if target.is_symlink() or target.is_dir():
                        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    with open(target, "wb") as out:
                        shutil.copyfileobj(extracted, out)
                else:
                    continue
                uid = self.owner.uid if self.owner else member.uid
                gid = self.owner.gid if self.owner else member.gid
                os.lchown(target, uid, gid)
                if not member.issym():
                    os.chmod(target, self.chmod if self.chmod is not None else member.mode & 0o7777)
                    os.utime(target, (member.mtime, member.mtime))


def is_archive(path: Path) -> bool:
    """A local file ADD unpacks: a tar, plain or compressed with gzip, bzip2 or xz."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if any(head.startswith(m) for m in _TAR_MAGIC):
        try:
            with tarfile.open(path, "r:*") as tar:
                tar.next()
            return True
        except (tarfile.TarError, OSError, EOFError):
            return False
    return len(head) >= 262 and head[257:262] == b"ustar"


def parse_chown(spec: str, view: RootfsView | None) -> Owner:
    """``--chown=user[:group]`` with names looked up in the image's /etc/passwd and /etc/group.

    A user without a group means the group with the same number as the user (Docker's rule).
    """
    user, _, group = spec.partition(":")

    def lookup(name: str, file: str, id_field: int) -> int:
        if name.isdigit():
            return int(name)
        text = view.read_text(file) if view is not None else None
        for line in (text or "").splitlines():
            fields = line.split(":")
            if len(fields) > id_field and fields[0] == name and fields[id_field].isdigit():
                return int(fields[id_field])
        raise LookupError(f"unable to find {'user' if file.endswith('passwd') else 'group'} {name} in {file}")

    uid = lookup(user, "/etc/passwd", 2)
    gid = lookup(group, "/etc/group", 2) if group else uid
    return Owner(uid, gid)
