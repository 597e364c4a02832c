"""Layer and archive compression: detect it from the first bytes, decompress as a stream.

Layers come gzip'd (most registries, ``docker save`` of old daemons), zstd-compressed (newer builders) or
plain; ``docker load``/``image import`` also accept bzip2 and xz. Everything here streams: a 1 GB layer is
never held in memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import BinaryIO, Literal

Compression = Literal["gzip", "zstd", "bzip2", "xz", "none"]

_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)

LAYER_MEDIA_TYPES: dict[Compression, str] = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
DOCKER_LAYER_MEDIA_TYPES: dict[Compression, str] = {
    "none": "application/vnd.docker.image.rootfs.diff.tar",
    "gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
}

# Errors a decompressor raises on corrupt or truncated input (zstandard's are added when it is imported).
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (EOFError, OSError, lzma.LZMAError, zlib.error, ValueError)


def detect(head: bytes) -> Compression:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "none"


def peek(stream: BinaryIO, size: int = 8) -> tuple[bytes, BinaryIO]:
    """The first bytes of ``stream`` and a stream that still yields them (works for unseekable input)."""
    if stream.seekable():
        pos = stream.tell()
        head = stream.read(size)
        stream.seek(pos)
        return head, stream
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type,type-var]
    return buffered.peek(size)[:size], buffered


def decompressed(stream: BinaryIO, kind: Compression | None = None) -> BinaryIO:
    """A reader of the uncompressed bytes of ``stream``; ``kind`` None means detect it."""
    if kind is None:
        head, stream = peek(stream)
        kind = detect(head)
    if kind == "none":
        return stream
    if kind == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if kind == "zstd":
        import zstandard

        # read_across_frames: a layer may be several concatenated frames (parallel compressors).
        return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True,  # type: ignore[return-value]
                                                          closefd=False)
    if kind == "bzip2":
        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]
    raise ValueError(f"unknown compression {kind!r}")


def decompression_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard
    except ImportError:
        return DECOMPRESSION_ERRORS
    return (*DECOMPRESSION_ERRORS, zstandard.ZstdError)


def media_type_compression(media_type: str) -> Compression | None:
    """The compression a layer media type declares; None for a media type that is not a layer."""
    if media_type.endswith(("+gzip", ".tar.gzip", ".tar.gz")):
        return "gzip"
    if media_type.endswith("+zstd"):
        return "zstd"
    if media_type.endswith((".tar", "diff.tar")):
        return "none"
    return None
