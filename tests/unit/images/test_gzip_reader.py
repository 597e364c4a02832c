"""compression.GzipReader: what gzip.GzipFile reads and refuses, with ISA-L and with plain zlib."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from runtime.images import compression
from runtime.images.compression import GzipReader

RAW = os.urandom(200_000) + b"text compresses well " * 50_000


@pytest.fixture(params=["isal", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        monkeypatch.setattr(compression, "_inflater", lambda: (zlib, zlib.error))
    else:
        pytest.importorskip("isal")
    return request.param


def read_in(reader: GzipReader, size: int) -> bytes:
    parts = []
    while chunk := reader.read(size):
        assert len(chunk) <= size
        parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize("size", [1, 511, 65536, 1 << 22])
def test_reads_of_any_size(inflater: str, size: int) -> None:
    data = RAW[:20_000] if size == 1 else RAW
    assert read_in(GzipReader(io.BytesIO(gzip.compress(data))), size) == data


def test_members_padding_and_empty_members(inflater: str) -> None:
    blob = gzip.compress(RAW[:1000]) + b"\0" * 3 + gzip.compress(b"") + gzip.compress(RAW[1000:]) + b"\0" * 10
    assert GzipReader(io.BytesIO(blob)).read() == RAW
    assert GzipReader(io.BytesIO(gzip.compress(b""))).read() == b""


class Trickle(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        chunk = self.data[self.pos:self.pos + 3]
        self.pos += len(chunk)
        return chunk


def test_a_source_that_returns_a_few_bytes_at_a_time(inflater: str) -> None:
    blob = gzip.compress(RAW[:5000]) + b"\0" + gzip.compress(RAW[5000:9000])
    assert GzipReader(Trickle(blob)).read() == RAW[:9000]  # type: ignore[arg-type]


def test_output_per_read_is_bounded(inflater: str) -> None:
    bomb = gzip.compress(b"\0" * (40 << 20))
    assert len(GzipReader(io.BytesIO(bomb)).read(1 << 30)) == compression.GZIP_MAX_OUTPUT


@pytest.mark.parametrize(("damage", "error", "message"), [
    (lambda b: b[:-3], EOFError, "ended before the end-of-stream marker"),
    (lambda b: b[: len(b) // 2], EOFError, "ended before the end-of-stream marker"),
    (lambda b: b + b"xx", gzip.BadGzipFile, "Not a gzipped file"),
    (lambda b: b + b"\0\0x", gzip.BadGzipFile, "Not a gzipped file"),
    (lambda b: b[:-6] + bytes([b[-6] ^ 1]) + b[-5:], zlib.error, None),  # CRC-32 trailer
    (lambda b: b[:-2] + bytes([b[-2] ^ 1]) + b[-1:], zlib.error, None),  # length trailer
    (lambda b: b[:100] + bytes([b[100] ^ 0xFF]) + b[101:], zlib.error, None),
])
def test_damage_is_refused_as_gzipfile_refuses_it(inflater: str, damage, error: type[Exception],  # type: ignore[no-untyped-def]
                                                   message: str | None) -> None:
    bad = damage(gzip.compress(RAW))
    with pytest.raises(error, match=message):
        GzipReader(io.BytesIO(bad)).read()
    with pytest.raises(compression.DECOMPRESSION_ERRORS):
        gzip.GzipFile(fileobj=io.BytesIO(bad)).read()  # the reference refuses it too


def test_decompressed_uses_it_for_gzip() -> None:
    assert isinstance(compression.decompressed(io.BytesIO(gzip.compress(b"x"))), GzipReader)
    with compression.decompressed(io.BytesIO(gzip.compress(RAW)), "gzip") as reader:
        assert reader.read() == RAW
