"""runtime.images.tarstream: the members tarfile would see, data copied in big reads, tarfile's end rules."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from runtime.images import layers, tarstream
from runtime.images.tarstream import TarStream
from tests.support.tarbuild import Entry, make_tar


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read, like a network or a decompressor."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        n = self.step if n is None or n < 0 else min(n, self.step)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk


def read_all(stream: io.RawIOBase | io.BytesIO, tmp_path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    """Every member and the data write_data produces for regular members."""
    tar = TarStream(stream)  # type: ignore[arg-type]
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    out = []
    for n, info in enumerate(tar):
        data = b""
        if info.isreg():
            path = folder / f"m{n}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                tar.write_data(info, fd)
            finally:
                os.close(fd)
            data = path.read_bytes()
        out.append((info, data))
    return out


def tarfile_view(archive: bytes) -> list[tuple[str, int, int, str, dict[str, str], bytes]]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r|", errors="surrogateescape") as tar:
        return [(i.name, i.type[0], i.size, i.linkname, dict(i.pax_headers),
                 tar.extractfile(i).read() if i.isreg() else b"")  # type: ignore[union-attr]
                for i in tar]


def our_view(members: list[tuple[tarfile.TarInfo, bytes]]) -> list[tuple[str, int, int, str, dict[str, str], bytes]]:
    return [(i.name, i.type[0], i.size, i.linkname, dict(i.pax_headers), data) for i, data in members]


ENTRIES = [
    Entry("dir", "dir"),
    Entry("dir/" + "long-name-" * 20, data=os.urandom(3000)),  # PAX path record
    Entry("dir/empty"),
    Entry("dir/link-" + "x" * 120, "symlink", link="target/" + "y" * 150),  # PAX linkpath
    Entry("dir/hard", "hardlink", link="dir/empty"),
    Entry("xattrs", data=b"x", xattrs={"user.one": b"1", "security.capability": b"\x01\x02"}),
    Entry("big", data=os.urandom(tarstream.DATA_CHUNK + 12345)),  # crosses the read-size boundary
    Entry("non-utf8-\udcff", data=b"name bytes that are not UTF-8"),
    Entry("fifo", "fifo"),
]


@pytest.mark.parametrize("step", [1 << 30, 7, 512, 513, 65536])
def test_members_and_data_match_tarfile_under_short_reads(tmp_path: Path, step: int) -> None:
    archive = make_tar(ENTRIES)
    if step == 7:
        archive = make_tar(ENTRIES[:6])  # a byte-trickle over the whole 1 MiB member would be slow, not harder
    assert our_view(read_all(Trickle(archive, step), tmp_path)) == tarfile_view(archive)


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_gnu_long_names_and_ustar(tmp_path: Path, fmt: int) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        name = ("d" * 90 + "/" + "f" * 60) if fmt == tarfile.USTAR_FORMAT else "g" * 300
        info = tarfile.TarInfo(name)
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    archive = out.getvalue()
    assert our_view(read_all(io.BytesIO(archive), tmp_path)) == tarfile_view(archive)


def test_global_pax_header_applies_to_later_members(tmp_path: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": "global"}) as tar:
        info = tarfile.TarInfo("f")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"1"))
    [(info, data)] = read_all(io.BytesIO(out.getvalue()), tmp_path)
    assert info.name == "f" and data == b"1" and info.pax_headers.get("comment") == "global"


def test_unread_data_is_skipped(tmp_path: Path) -> None:
    archive = make_tar([Entry("a", data=b"A" * 70_000), Entry("b", data=b"B")])
    names = [info.name for info in TarStream(io.BytesIO(archive))]  # type: ignore[arg-type]
    assert names == ["a", "b"]


def test_end_rules_are_tarfiles(tmp_path: Path) -> None:
    good = make_tar([Entry("a", data=b"A")])
    # Garbage after the end-of-archive blocks, and an archive without them, both end cleanly.
    assert [i.name for i, _ in read_all(io.BytesIO(good + os.urandom(4096)), tmp_path)] == ["a"]
    no_end = good[:1024]  # header + one data block
    assert [i.name for i, _ in read_all(io.BytesIO(no_end), tmp_path)] == ["a"]
    with pytest.raises(tarfile.ReadError, match="empty file"):
        list(TarStream(io.BytesIO(b"")))  # type: ignore[arg-type]
    with pytest.raises(tarfile.ReadError):
        list(TarStream(io.BytesIO(b"not a tar archive at all" * 40)))  # type: ignore[arg-type]


def test_truncated_data_is_a_read_error(tmp_path: Path) -> None:
    archive = make_tar([Entry("big", data=b"x" * 100_000)])
    tar = TarStream(io.BytesIO(archive[:50_000]))  # type: ignore[arg-type]
    info = next(iter(tar))
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(tarfile.ReadError, match="unexpected end of data"):
            tar.write_data(info, fd)
    finally:
        os.close(fd)
    # Skipping the data of a truncated member is the same error when the next header is read.
    with pytest.raises(tarfile.ReadError, match="unexpected end of data"):
        list(TarStream(io.BytesIO(archive[:50_000])))  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar makes the sparse archive")
@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_sparse_members_unpack_with_their_holes(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    sparse = src / "sparse"
    with open(sparse, "wb") as f:
        f.write(b"head")
        f.seek(3 << 20)
        f.write(b"middle")
        f.seek(8 << 20)
        f.write(b"tail")
    subprocess.run(["tar", f"--format={fmt}", "--sparse", "-cf", str(tmp_path / "s.tar"), "-C", str(src), "sparse"],
                   check=True)
    archive = (tmp_path / "s.tar").read_bytes()
    assert next(iter(tarfile.open(fileobj=io.BytesIO(archive)))).issparse()
    dest = tmp_path / "dest"
    dest.mkdir()
    layers.unpack(io.BytesIO(archive), dest)
    assert (dest / "sparse").read_bytes() == sparse.read_bytes()


FIELDS = ("name", "type", "mode", "uid", "gid", "size", "mtime", "chksum", "linkname", "uname", "gname", "devmajor",
          "devminor", "pax_headers", "offset", "offset_data", "sparse")


def fields(info: tarfile.TarInfo) -> tuple:
    return tuple(getattr(info, f) for f in FIELDS)


def assert_same_members(archive: bytes) -> None:
    """TarStream (fast header path included) yields exactly tarfile's members, field by field."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r|", errors="surrogateescape") as tar:
        expected = [fields(i) for i in tar]
    assert [fields(i) for i in TarStream(io.BytesIO(archive))] == expected  # type: ignore[arg-type]


def handmade_header(name: bytes, kind: bytes, *, prefix: bytes = b"", size: int = 0, mode: bytes = b"0000644\0",
                    signed_checksum: bool = False) -> bytes:
    """A ustar header written byte by byte, for cases tarfile's writer never produces."""
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:108] = mode
    block[108:116] = b"0001750\0"
    block[116:124] = b"   144 \0"  # space-padded, as some tars write numbers
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"14712345670\0"
    block[156:157] = kind
    block[257:265] = b"ustar\x0000"
    block[265:269] = b"r\xc3\xa9m"  # non-ASCII owner name
    block[345:345 + len(prefix)] = prefix
    if signed_checksum:
        block[300] = 0xE9  # a high byte: signed and unsigned sums differ
    chk = 256 + sum(b - 256 if signed_checksum and b > 127 else b for b in block[:148] + block[156:])
    block[148:156] = b"%06o\0 " % chk
    return bytes(block) + b"x" * size + bytes(-size % 512)


def test_plain_headers_decode_as_tarfile_decodes_them() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for n, kind in enumerate((tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE,
                                  tarfile.BLKTYPE, tarfile.FIFOTYPE)):
            info = tarfile.TarInfo(("p" * 90 + "/") * (n % 2) + f"member{n}" + "/" * (kind == tarfile.DIRTYPE))
            info.type, info.mode, info.uid, info.gid, info.mtime = kind, 0o4755, 1000 + n, 2000, 1_600_000_000 + n
            info.linkname = "target" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            info.devmajor, info.devminor = (n, n + 1) if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE) else (0, 0)
            info.uname, info.gname = "user", "group"
            data = b"content" * n if kind == tarfile.REGTYPE else b""
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    assert_same_members(out.getvalue())
    assert_same_members(make_tar(ENTRIES))  # PAX records mixed with plain headers
    with tarfile.open(fileobj=(gnu := io.BytesIO()), mode="w", format=tarfile.GNU_FORMAT) as tar:
        big = tarfile.TarInfo("big-ids")  # ids past 8 octal digits: GNU writes base-256, tarfile's path reads it
        big.uid = big.gid = 1 << 30
        tar.addfile(big)
        tar.addfile(tarfile.TarInfo("x" * 200))  # a GNU long name
    assert_same_members(gnu.getvalue())


@pytest.mark.parametrize("header", [
    handmade_header(b"v7dir/", tarfile.AREGTYPE),  # an old V7 directory: a plain file named with a slash
    handmade_header(b"name", tarfile.REGTYPE, prefix=b"some/prefix", size=5),
    handmade_header(b"", tarfile.DIRTYPE, prefix=b"only-prefix/"),
    handmade_header(b"contiguous", tarfile.CONTTYPE, size=3),
    handmade_header(b"odd-mode", tarfile.REGTYPE, mode=b"+644\0\0\0\0"),  # int() accepts it; tarfile decides
    handmade_header(b"signed", tarfile.REGTYPE, signed_checksum=True),
    handmade_header(b"unknown-type", b"V", size=2),
])
def test_handmade_headers_decode_as_tarfile_decodes_them(header: bytes) -> None:
    assert_same_members(header + handmade_header(b"after", tarfile.REGTYPE, size=1) + bytes(1024))
