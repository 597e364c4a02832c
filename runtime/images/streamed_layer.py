"""A layer staged from its download in one pass: written, hashed, decompressed and unpacked as it arrives.

``ImageStore.stage_layer`` does the same for a blob that is already verified (archives, the local blob
store) and hashes the compressed bytes itself; here the registry's :class:`BlobReader` already hashes
them for the digest check, so hashing them a second time is skipped (~8% of a pull's CPU).

Why unpacking before the digest is known is safe: everything lands in the store's staging directory (the unpacker refuses paths that would leave it), and the caller publishes nothing
before the whole blob matched its digest (the reader checks it at its end, which is always read here)
and the tar its diff id. A tampered blob usually breaks decompression or the tar before its end: the
rest is then read and hashed, so that it is refused for what it is, a digest mismatch naming the blob;
only content that really is the registry's blob is reported as corrupt data.
"""

from __future__ import annotations

import os
from pathlib import Path

from runtime.errors import ImageError
from runtime.images import compression
from runtime.images.blobs import ForwardReader, HashingReader, StagedBlob, write_all
from runtime.images.registry import BlobReader
from runtime.images.store import StagedLayer, unpack_decompressed, write_layer_meta

_HINT = "the download is damaged; the store was not changed"


class _Tee(ForwardReader):
    """Reads from the blob and writes every byte that passes to ``fd`` (the staged blob file)."""

    def __init__(self, blob: BlobReader, fd: int) -> None:
        self._blob = blob
        self._fd = fd
        self._head = b""  # bytes read by peek() and not yet handed out

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            more = self._take(compression.GZIP_READ_CHUNK)
            if not more:
                break
            self._head += more
        return self._head[:size]

    def _take(self, size: int) -> bytes:
        data = self._blob.read(size)
        write_all(self._fd, data)
        return data

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(data):]
            return data
        return self._take(compression.GZIP_READ_CHUNK if size < 0 else size)


def stage_streamed(blob: BlobReader, prefix: Path, *, diff_id: str, unpack: bool = True) -> StagedLayer:
    """Stage the blob ``blob`` reads as ``<prefix>.blob``, and unpacked in ``<prefix>.layer/diff`` when
    ``unpack`` (``prefix``: a new name in a staging directory; the caller removes both on failure).

    Raises the reader's RegistryError when the blob does not match its digest (checked first, whatever
    else failed), TransferInterrupted when the connection broke, ImageError when the verified blob is
    not a layer (bad compression, bad tar) or its tar does not hash to ``diff_id``.
    """
    blob_path = prefix.with_suffix(".blob")
    fd = os.open(blob_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    unpacked = prefix.with_suffix(".layer") if unpack else None
    try:
        try:
            tar, kind, size = _decompress_and_unpack(_Tee(blob, fd), unpacked)
        except ImageError:
            blob.drain()  # a digest mismatch is the real error when there is one
            raise
    finally:
        os.close(fd)
    if tar.digest != diff_id:
        raise ImageError(f"layer {diff_id} is corrupt: its uncompressed content hashes to {tar.digest}",
                         hint=_HINT)
    if unpacked is not None:
        write_layer_meta(unpacked, tar.digest, size, blob.digest)
    media = compression.LAYER_MEDIA_TYPES[kind]
    return StagedLayer(StagedBlob(blob.digest, blob.received, blob_path), tar.digest, media, unpacked, size)


def _decompress_and_unpack(source: _Tee, unpacked: Path | None) -> tuple[HashingReader, compression.Compression,
                                                                        int]:
    """The diff-id hasher (drained), the compression, and the unpacked size; reads ``source`` to its end."""
    kind = compression.detect(source.peek(8))
    if kind in ("bzip2", "xz"):
        raise ImageError(f"layer compression {kind} is not allowed in images",
                         hint="use gzip, zstd or an uncompressed tar")
    # source.drain: past the end of the compressed stream, so that the reader verifies the digest
    tar, size = unpack_decompressed(source, kind, unpacked, finish=source.drain, hint=_HINT)
    return tar, kind, size
