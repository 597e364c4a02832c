"""Content-addressed blobs under ``<images>/blobs/sha256/<hex>``, and the staging area in front of them.

Nothing reaches ``blobs/`` or ``layers/`` without having been written completely to a staging directory
on the same filesystem and its digest checked; publishing is then a rename. A failed load therefore only
ever leaves a staging directory behind, which the next store operation removes.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from runtime.errors import ImageError
from runtime.sha256 import sha256

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
CHUNK = 1 << 20
SMALL_BLOB = 256 << 10  # up to this size digest_bytes hashes without hashlib (see there)


def check_digest(digest: str) -> str:
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise ImageError(f"unsupported or malformed digest {digest!r}", hint="only sha256 digests are supported")
    return digest


def digest_bytes(data: bytes) -> str:
    if len(data) <= SMALL_BLOB:
        # Image configs and manifests (read on every ps, up, inspect): the interpreter's own SHA-256, with
        # no OpenSSL bindings to load (runtime/sha256.py); hashlib's is faster only for big data.
        return "sha256:" + sha256(data).hexdigest()
    import hashlib  # here, not at the top: see HashingReader

    return "sha256:" + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    return check_digest(digest)[len("sha256:"):]


def random_hex() -> str:
    """128 random bits for a temporary name (what ``uuid.uuid4().hex`` served for, without importing uuid)."""
    return os.urandom(16).hex()


def write_all(fd: int, data: bytes | memoryview) -> None:
    """os.write until every byte is out (a single write may take only part)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class ForwardReader:
    """The file-object surface (tarfile, gzip, shutil read through it) of a forward-only reader whose
    ``read(n)`` does the work: hashing, counting, teeing."""

    def read(self, n: int = -1) -> bytes:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read to the end (whatever reading verifies, it verifies), discarding the bytes."""
        while self.read(CHUNK):
            pass


class HashingReader(ForwardReader):
    """Reads from ``source``, hashes what passes, and optionally copies it to ``sink`` (a file descriptor)."""

    def __init__(self, source: BinaryIO, sink_fd: int | None = None) -> None:
        # hashlib (OpenSSL's SHA-256, the fast one for blobs) is imported by what hashes: loading its
        # bindings costs 2-3 ms, which commands that only read the store (ps, up of images present) skip.
        import hashlib

        self.source = source
        self.sink_fd = sink_fd
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n if n is not None and n >= 0 else CHUNK * 64)
        if data:
            self.hasher.update(data)
            self.size += len(data)
            if self.sink_fd is not None:
                write_all(self.sink_fd, data)
        return data

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        """The source belongs to the caller; wrappers (BufferedReader, GzipFile) may call this."""


@dataclass(frozen=True)
class StagedBlob:
    digest: str
    size: int
    path: Path


class BlobStore:
    """The blob directory of one image store."""

    def __init__(self, images_dir: Path) -> None:
        self.dir = images_dir / "blobs" / "sha256"
        self.tmp = images_dir / "tmp"

    def path(self, digest: str) -> Path:
        return self.dir / hex_of(digest)

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def read_bytes(self, digest: str, *, verify: bool = True) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise ImageError(f"blob {digest} is missing from the image store",
                             hint="remove the image and load or pull it again") from None
        if verify and digest_bytes(data) != digest:
            raise ImageError(f"blob {digest} in the image store is corrupt (its content does not match its "
                             "digest)", hint="remove the image and load or pull it again")
        return data

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise ImageError(f"blob {digest} is missing from the image store",
                             hint="remove the image and load or pull it again") from None

    def verify(self, digest: str) -> bool:
        try:
            import hashlib

            with open(self.path(digest), "rb") as f:
                h = hashlib.sha256()
                while chunk := f.read(CHUNK):
                    h.update(chunk)
        except FileNotFoundError:
            return False
        return "sha256:" + h.hexdigest() == digest

    def new_staging_dir(self) -> Path:
        import tempfile  # only writes need it: resolving an image (every container create) does not

        self.tmp.mkdir(parents=True, exist_ok=True)
        # The pid in the name lets a later cleanup tell a live stager from an abandoned one.
        return Path(tempfile.mkdtemp(prefix=f"stage-{os.getpid()}-", dir=self.tmp))

    def stage_stream(self, staging: Path, stream: BinaryIO, expected: str | None = None) -> StagedBlob:
        """Copy ``stream`` into ``staging`` while hashing it; ImageError if ``expected`` does not match."""
        path = staging / f"blob-{random_hex()}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            reader = HashingReader(stream, fd)
            reader.drain()
        finally:
            os.close(fd)
        if expected is not None and reader.digest != expected:
            raise ImageError(f"blob {expected} is corrupt: its content hashes to {reader.digest}",
                             hint="the archive or download is damaged; the store was not changed")
        return StagedBlob(reader.digest, reader.size, path)

    def stage_bytes(self, staging: Path, data: bytes, expected: str | None = None) -> StagedBlob:
        digest = digest_bytes(data)
        if expected is not None and digest != expected:
            raise ImageError(f"blob {expected} is corrupt: its content hashes to {digest}",
                             hint="the archive or download is damaged; the store was not changed")
        path = staging / f"blob-{random_hex()}"
        path.write_bytes(data)
        return StagedBlob(digest, len(data), path)

    def publish(self, staged: StagedBlob) -> None:
        """Move a verified staged blob into place; an existing blob with that digest is kept."""
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.path(staged.digest)
        if target.exists():
            staged.path.unlink(missing_ok=True)
            return
        try:
            os.replace(staged.path, target)
        except FileNotFoundError:
            # A caller that relied on an existing blob (not re-staged) lost it to a concurrent removal.
            raise ImageError(f"blob {staged.digest} was removed while this image was being stored",
                             hint="an image removal ran at the same time; run the command again") from None

    def remove(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def clean_abandoned_staging(self) -> None:
        """Remove staging directories whose process is gone (a load killed half-way)."""
        if not self.tmp.is_dir():
            return
        for entry in self.tmp.iterdir():
            parts = entry.name.split("-")
            if len(parts) >= 3 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
                shutil.rmtree(entry, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
