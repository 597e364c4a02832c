"""Layer tarballs <-> directories usable as overlayfs lower dirs.

Unpacking turns OCI whiteouts into overlay's: ``.wh.NAME`` becomes a 0/0 character device NAME, and
``.wh..wh..opq`` marks its directory opaque with the ``trusted.overlay.opaque`` xattr. Packing does the
reverse for an overlay upper dir, so a container's changes become a layer. Ownership, modes, times,
hardlinks, symlinks, devices and xattrs are preserved; a member that would land outside the destination
(``..``, or a path through a symlink) is refused before anything is written for it.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from runtime.errors import ImageError
from runtime.sha256 import sha256

if TYPE_CHECKING:
    import tarfile

    from runtime.images.tarstream import TarStream

# tarfile and the tar reader are imported by the functions that read or write tars: every container create
# imports this module (through the image store) and reads none.

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
PAX_XATTR_PREFIX = "SCHILY.xattr."


def chain_ids(diff_ids: Iterable[str]) -> list[str]:
    """OCI chain ids: the first is the first diff id, each next is sha256("<previous> <diff id>")."""
    chain: list[str] = []
    for diff_id in diff_ids:
        if not chain:
            chain.append(diff_id)
        else:
            chain.append("sha256:" + sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest())  # short: see runtime/sha256.py
    return chain


def clean_member_path(name: str) -> str:
    """The archive path relative to the layer root; '' for the root; ImageError if it escapes."""
    rel = posixpath.normpath(name.lstrip("/")) if name.strip("/") else "."
    if rel == ".." or rel.startswith("../"):
        raise ImageError(f"layer member {name!r} points outside the layer (path traversal)",
                         hint="the archive is malicious or broken; it was not unpacked")
    return "" if rel == "." else rel


def whiteout_target(rel: str) -> tuple[str, str | None]:
    """Classify a cleaned member path: ("opaque", dir), ("whiteout", path), ("meta", None) or ("plain", None)."""
    parent, base = posixpath.split(rel)
    if base == OPAQUE_MARKER:
        return "opaque", parent
    if base.startswith(WHITEOUT_META_PREFIX):
        return "meta", None  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): meaningless on overlay
    if base.startswith(WHITEOUT_PREFIX):
        name = base[len(WHITEOUT_PREFIX):]
        if not name or name in (".", ".."):
            raise ImageError(f"layer member {rel!r} is a whiteout of nothing")
        return "whiteout", posixpath.join(parent, name)
    return "plain", None


@dataclass
class UnpackResult:
    size: int  # bytes of regular file content
    entries: int


class _Unpacker:
    """Writes members of one layer into ``dest``; tracks directories known to be real (not symlinks)."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.root_path = str(dest)
        self.is_root = os.geteuid() == 0
        # A new file is owned by this process's user and group (its directory's group under a set-gid
        # directory: the layer's own directories get their modes only at the end, so only ``dest`` can be
        # one). Such a file needs no chown when the member's owner is that already, and no chmod when it
        # was created with its final mode: two system calls fewer for most files of a layer.
        self.own_owner = None if os.stat(dest).st_mode & stat.S_ISGID else (os.geteuid(), os.getegid())
        self.umask = _current_umask()
        self.safe_dirs: set[str] = {""}
        # Directory -> its latest member: mode and mtime are set last (children change the mtime). Kept in
        # the order directories first appeared (finish goes backwards: children before their parents).
        self.deferred_dirs: dict[str, tarfile.TarInfo] = {}
        self.size = 0
        self.entries = 0

    def abs(self, rel: str) -> str:
        return os.path.join(self.root_path, rel) if rel else self.root_path

    def ensure_parent(self, rel: str) -> None:
        """Make every parent of ``rel`` a real directory; refuse a parent that is a symlink or a file."""
        parent = posixpath.dirname(rel)
        missing: list[str] = []
        while parent not in self.safe_dirs:
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for d in reversed(missing):
            path = self.abs(d)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                os.mkdir(path, 0o755)
            else:
                if stat.S_ISLNK(st.st_mode):
                    raise ImageError(f"layer member {rel!r} would be written through the symlink {d!r}",
                                     hint="the archive is malicious or broken; it was not unpacked")
                if not stat.S_ISDIR(st.st_mode):
                    raise ImageError(f"layer member {rel!r} needs {d!r} to be a directory, but it is not")
            self.safe_dirs.add(d)

    def remove_existing(self, rel: str, keep_dir: bool) -> None:
        """A later member replaces an earlier one, except a directory over a directory (metadata merge)."""
        path = self.abs(rel)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return
            shutil.rmtree(path)
            self.safe_dirs = {d for d in self.safe_dirs if d != rel and not d.startswith(rel + "/")}
            # What replaces the directory must not get its mode and mtime at the end (nor what replaces
            # anything that was inside it).
            for gone in [d for d in self.deferred_dirs if d == rel or d.startswith(rel + "/")]:
                del self.deferred_dirs[gone]
        else:
            os.unlink(path)

    def member(self, tar: TarStream, info: tarfile.TarInfo) -> None:
        rel = clean_member_path(info.name)
        self.entries += 1
        if not rel:
            if info.isdir():
                self.deferred_dirs[""] = info
            return
        kind, target = whiteout_target(rel)
        if kind == "meta":
            return
        if kind == "opaque":
            assert target is not None
            self.ensure_parent(rel)
            if target and target not in self.safe_dirs:
                self.remove_existing(target, keep_dir=True)
                if not os.path.isdir(self.abs(target)):
                    os.mkdir(self.abs(target), 0o755)
                self.safe_dirs.add(target)
            self._set_xattr(self.abs(target), OVERLAY_OPAQUE_XATTR, b"y", rel)
            return
        if kind == "whiteout":
            assert target is not None
            self.ensure_parent(target)
            whiteout = self.abs(target)
            self._replacing(target, lambda: self._mknod(whiteout, stat.S_IFCHR, 0, 0, rel))
            self._chown(whiteout, info.uid, info.gid)
            return
        self.ensure_parent(rel)
        path = self.abs(rel)
        if info.isdir():
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                self.remove_existing(rel, keep_dir=True)  # a directory stays (its metadata is merged)
                if not os.path.isdir(path):
                    os.mkdir(path, 0o700)
            self.safe_dirs.add(rel)
            self._chown(path, info.uid, info.gid)
            self._xattrs(path, info, rel)
            self.deferred_dirs[rel] = info  # a later member for the same directory: its metadata wins
            return
        if info.isreg():
            self._regular(tar, info, path, rel)
            return  # metadata, xattrs and times were set through the open file
        if info.issym():
            self._replacing(rel, lambda: os.symlink(info.linkname, path))
            self._chown(path, info.uid, info.gid)
        elif info.islnk():
            source = clean_member_path(info.linkname)
            if not source:
                raise ImageError(f"layer member {rel!r} is a hardlink to the layer root")
            self.ensure_parent(source)
            try:
                self._replacing(rel, lambda: os.link(self.abs(source), path, follow_symlinks=False))
            except FileNotFoundError:
                raise ImageError(f"layer member {rel!r} is a hardlink to {info.linkname!r}, which is not "
                                 "in the layer") from None
            return  # a hardlink shares the inode: its metadata is the source's
        elif info.ischr() or info.isblk():
            kind_bit = stat.S_IFCHR if info.ischr() else stat.S_IFBLK
            self._replacing(rel, lambda: self._mknod(path, kind_bit | (info.mode & 0o7777), info.devmajor,
                                                     info.devminor, rel))
            self._chown(path, info.uid, info.gid)
            os.chmod(path, info.mode & 0o7777)
        elif info.isfifo():
            self._replacing(rel, lambda: os.mkfifo(path, 0o600))
            self._chown(path, info.uid, info.gid)
            os.chmod(path, info.mode & 0o7777)
        else:
            raise ImageError(f"layer member {rel!r} has an unsupported tar type {info.type!r}")
        self._xattrs(path, info, rel)
        os.utime(path, (info.mtime, info.mtime), follow_symlinks=False)

    def _replacing(self, rel: str, create: Callable[[], object]) -> None:
        """``create()`` the entry ``rel``; if something is there already (an earlier member of this layer),
        remove it and create again. Trying first spares an lstat per member: in a layer almost nothing
        is there yet. The outcome is the remove-then-create's, and EEXIST comes from the same lookup
        that creates, so nothing can slip in between."""
        try:
            create()
        except FileExistsError:
            self.remove_existing(rel, keep_dir=False)
            create()

    def _regular(self, tar: TarStream, info: tarfile.TarInfo, path: str, rel: str) -> None:
        # O_EXCL | O_NOFOLLOW: the file is new (an existing entry is removed first), so it cannot be a planted
        # symlink; everything after the open goes through the descriptor, with no second path lookup.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        mode = info.mode & 0o7777
        # Created with its final mode when the umask leaves it whole and it has no set-id or sticky bit.
        final_mode = not mode & 0o7000 and not mode & self.umask
        initial = mode if final_mode else 0o600
        try:
            fd = os.open(path, flags, initial)
        except FileExistsError:
            self.remove_existing(rel, keep_dir=False)
            fd = os.open(path, flags, initial)
        try:
            tar.write_data(info, fd)
            if self.is_root and (info.uid, info.gid) != self.own_owner:
                os.fchown(fd, info.uid, info.gid)
            if not final_mode:
                os.fchmod(fd, mode)  # after chown: chown clears set-uid/set-gid bits
            self._xattrs(fd, info, rel)
            os.utime(fd, (info.mtime, info.mtime))
        finally:
            os.close(fd)
        self.size += info.size

    def _chown(self, path: str, uid: int, gid: int) -> None:
        if self.is_root:
            os.lchown(path, uid, gid)

    def _mknod(self, path: str, mode: int, major: int, minor: int, rel: str) -> None:
        try:
            os.mknod(path, mode, os.makedev(major, minor))
        except PermissionError:
            raise ImageError(f"cannot create the device node or whiteout {rel!r}: permission denied",
                             hint="unpacking image layers needs root (CAP_MKNOD)") from None

    def _xattrs(self, path: str | int, info: tarfile.TarInfo, rel: str) -> None:
        for key, value in info.pax_headers.items():
            if key.startswith(PAX_XATTR_PREFIX):
                name = key[len(PAX_XATTR_PREFIX):]
                self._set_xattr(path, name, value.encode("utf-8", "surrogateescape"), rel)

    def _set_xattr(self, path: str | int, name: str, value: bytes, rel: str) -> None:
        try:
            if isinstance(path, int):
                os.setxattr(path, name, value)  # a descriptor: follow_symlinks does not apply
            else:
                os.setxattr(path, name, value, follow_symlinks=False)
        except OSError as exc:
            if name.startswith("user.") and exc.errno in (errno.EPERM, errno.ENOTSUP):
                return  # user.* xattrs are not allowed on symlinks and devices; Docker drops them too
            if exc.errno == errno.EPERM and not self.is_root:
                raise ImageError(f"cannot set the {name} xattr on {rel!r}: permission denied",
                                 hint="unpacking image layers needs root") from None
            raise

    def finish(self) -> None:
        for rel, info in reversed(self.deferred_dirs.items()):
            path = self.abs(rel)
            # chmod follows symlinks: never through one (a member that replaced the directory by a symlink
            # to a host path would otherwise change that host file's mode). remove_existing already drops
            # replaced directories; this makes the rule hold whatever path led here.
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                continue
            os.chmod(path, info.mode & 0o7777)
            os.utime(path, (info.mtime, info.mtime), follow_symlinks=False)


def _current_umask() -> int:
    """This process's umask, read without setting it (``os.umask`` would change it for every thread for
    a moment); all bits when it cannot be read, so that every file gets its chmod."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777


def unpack(stream: BinaryIO, dest: Path) -> UnpackResult:
    """Unpack an uncompressed layer tar stream into the existing empty directory ``dest``.

    Raises ImageError for a corrupt or malicious archive; ``dest`` is then left half-written, so callers
    unpack into a temporary directory and publish it with a rename.
    """
    import tarfile

    from runtime.images.tarstream import TarStream

    unpacker = _Unpacker(dest)
    try:
        tar = TarStream(stream)
        for info in tar:
            unpacker.member(tar, info)
    except tarfile.TarError as exc:
        raise ImageError(f"layer archive is corrupt or truncated: {exc}",
                         hint="get the image again; the store was not changed") from None
    unpacker.finish()
    return UnpackResult(size=unpacker.size, entries=unpacker.entries)


# --------------------------------------------------------------------------------------------- packing


def _tarinfo(path: str, arcname: str, st: os.stat_result) -> tarfile.TarInfo:
    import tarfile

    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""  # numeric ownership: host user names mean nothing in an image
    info.mtime = int(st.st_mtime)
    return info


def _pax_xattrs(path: str, skip_overlay: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return headers
    for name in sorted(names):
        if skip_overlay and name.startswith("trusted.overlay."):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        headers[PAX_XATTR_PREFIX + name] = value.decode("utf-8", "surrogateescape")
    return headers


def pack(source: Path, out: BinaryIO, *, overlay_whiteouts: bool = False, exclude: Iterable[str] = ()) -> None:
    """Write ``source`` as an uncompressed layer tar to ``out`` (sorted, numeric owners, PAX xattrs).

    With ``overlay_whiteouts`` (an overlay upper dir), 0/0 character devices become ``.wh.NAME`` files and
    opaque directories get a ``.wh..wh..opq`` entry. ``exclude``: paths relative to ``source`` left out
    (a directory with everything under it).
    """
    import tarfile

    src = str(source)
    skip = {posixpath.normpath(p).strip("/") for p in exclude}
    seen_inodes: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, errors="surrogateescape") as tar:
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, src)
            rel_dir = "" if rel_dir == "." else rel_dir
            if skip:
                dirnames[:] = [d for d in dirnames if posixpath.join(rel_dir, d) not in skip]
                filenames = [f for f in filenames if posixpath.join(rel_dir, f) not in skip]
            if rel_dir:
                st = os.lstat(dirpath)
                info = _tarinfo(dirpath, rel_dir, st)
                info.type = tarfile.DIRTYPE
                info.pax_headers = _pax_xattrs(dirpath, overlay_whiteouts)
                tar.addfile(info)
            if overlay_whiteouts and _is_opaque(dirpath):
                marker = tarfile.TarInfo(posixpath.join(rel_dir, OPAQUE_MARKER))
                marker.mtime = int(os.lstat(dirpath).st_mtime)
                tar.addfile(marker)
            # os.walk lists symlinks to directories in dirnames without descending: treat them as entries.
            entries = sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))])
            for name in entries:
                _pack_entry(tar, os.path.join(dirpath, name), posixpath.join(rel_dir, name), seen_inodes,
                            overlay_whiteouts)


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _pack_entry(tar: tarfile.TarFile, path: str, arcname: str, seen_inodes: dict[tuple[int, int], str],
                overlay_whiteouts: bool) -> None:
    import tarfile

    st = os.lstat(path)
    mode = st.st_mode
    if overlay_whiteouts and stat.S_ISCHR(mode) and st.st_rdev == 0:
        parent, base = posixpath.split(arcname)
        info = tarfile.TarInfo(posixpath.join(parent, WHITEOUT_PREFIX + base))
        info.mtime = int(st.st_mtime)
        tar.addfile(info)
        return
    info = _tarinfo(path, arcname, st)
    if not stat.S_ISDIR(mode) and st.st_nlink > 1:
        key = (st.st_dev, st.st_ino)
        if key in seen_inodes:
            info.type = tarfile.LNKTYPE
            info.linkname = seen_inodes[key]
            tar.addfile(info)
            return
        seen_inodes[key] = arcname
    info.pax_headers = _pax_xattrs(path, overlay_whiteouts)
    if stat.S_ISREG(mode):
        info.size = st.st_size
        with open(path, "rb") as f:
            tar.addfile(info, f)
        return
    if stat.S_ISLNK(mode):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    else:
        return  # sockets cannot be archived (docker skips them too)
    tar.addfile(info)
