"""A tar stream read member by member, with member data copied to files in big reads.

Why not ``tarfile.open(mode="r|")``: its stream mode pushes every byte of member data through a 10 KiB
record buffer and an ``extractfile()`` object, several Python calls per 10 KiB; unpacking a layer spent
more time there than in inflate. Header parsing here is still tarfile's own (``TarInfo.fromtarfile``:
ustar, GNU long names, PAX records and global headers, base-256 numbers, sparse maps), so every member
means exactly what it meant with tarfile, and the end of the archive is decided by the same rules as
``TarFile.next()`` without ``ignore_zeros``. Only the data path differs.

One exception, for speed: a plain header (a file, link, directory, device or fifo with octal numbers and a
valid checksum, no extended header before it) is decoded by :func:`_plain_header`, the same fields by the
same rules in a fraction of the time (tarfile's generic decoding was ~30% of unpacking a Debian layer's
7,000 small files). Anything else, or any doubt, goes to tarfile; tests compare both on every member.
"""

from __future__ import annotations

import os
import struct
import tarfile
from collections.abc import Iterator
from typing import BinaryIO, cast

from runtime.images.blobs import write_all

DATA_CHUNK = 1 << 20  # member data asked of the source per read
READ_AHEAD = 64 << 10  # headers are read with this much read-ahead, so small files cost no extra call
BLOCK = tarfile.BLOCKSIZE

# name mode uid gid size mtime chksum type linkname magic version uname gname devmajor devminor prefix
_HEADER = struct.Struct("100s8s8s8s12s12s8s1s100s6s2s32s32s8s8s155s")
# Member types whose header stands alone (tarfile's _proc_builtin); extended headers (PAX, GNU long names),
# GNU sparse files and unknown types take tarfile's own path.
_PLAIN_TYPES = frozenset((tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE,
                          tarfile.BLKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE))
_DATA_TYPES = frozenset((tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE))  # followed by ``size`` bytes
_ZERO_BLOCK = bytes(BLOCK)
# The header errors TarFile.next() tells apart (module attributes of tarfile that its stubs leave out).
_EOF_HEADER: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]
_EMPTY_HEADER: type[Exception] = tarfile.EmptyHeaderError  # type: ignore[attr-defined]
_BAD_HEADER: tuple[type[Exception], ...] = (tarfile.InvalidHeaderError,  # type: ignore[attr-defined]
                                            tarfile.TruncatedHeaderError)  # type: ignore[attr-defined]
_NEXT_HEADER_BAD: type[Exception] = tarfile.SubsequentHeaderError  # type: ignore[attr-defined]


def _octal(field: bytes) -> int | None:
    """A numeric header field as tarfile reads it, or None when tarfile's own reading should decide
    (base-256 numbers, anything that is not plain ASCII octal digits and padding)."""
    if field[:1] in (b"\x80", b"\xff"):
        return None
    end = field.find(b"\0")
    text = (field if end == -1 else field[:end]).strip(b" ")
    if not text:
        return 0
    if not text.isdigit() or b"8" in text or b"9" in text:
        return None
    return int(text, 8)


def _text(field: bytes, encoding: str, errors: str) -> str:
    end = field.find(b"\0")
    return (field if end == -1 else field[:end]).decode(encoding, errors)


def _plain_header(block: bytes, encoding: str, errors: str) -> tarfile.TarInfo | None:
    """The TarInfo tarfile would make of a stand-alone header ``block``; None to let tarfile decide."""
    (name, mode, uid, gid, size, mtime, chksum, kind, linkname, _magic, _version, uname, gname, devmajor,
     devminor, prefix) = _HEADER.unpack_from(block)
    if kind not in _PLAIN_TYPES or block == _ZERO_BLOCK:
        return None
    decoded = [_octal(f) for f in (mode, uid, gid, size, mtime, chksum, devmajor, devminor)]
    if None in decoded:
        return None  # base-256 or odd numbers: tarfile reads them (or explains why not)
    numbers = cast(list[int], decoded)
    if numbers[5] != 256 + sum(block) - sum(block[148:156]):
        return None  # a signed-char checksum, or a bad one: tarfile checks and explains
    info = tarfile.TarInfo()
    info.mode, info.uid, info.gid, info.size, info.mtime, info.chksum, info.devmajor, info.devminor = numbers
    info.type = kind
    info.name = _text(name, encoding, errors)
    info.linkname = _text(linkname, encoding, errors)
    info.uname = _text(uname, encoding, errors)
    info.gname = _text(gname, encoding, errors)
    if kind == tarfile.AREGTYPE and info.name.endswith("/"):
        info.type = tarfile.DIRTYPE  # the old V7 way of writing a directory
    if info.type == tarfile.DIRTYPE:
        info.name = info.name.rstrip("/")
    head = _text(prefix, encoding, errors)
    if head:
        info.name = head + "/" + info.name  # a ustar name split in prefix and name
        if info.type == tarfile.DIRTYPE:
            info.name = info.name.rstrip("/")
    return info


class _Source:
    """Exact-length reads with a position (what tarfile calls ``fileobj``) over a stream that may return
    short reads. Read-ahead is kept as one bytes object and an index: consuming it never copies the rest."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._index = 0
        self._position = 0  # of the next byte handed out

    def tell(self) -> int:
        return self._position

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes, fewer only at the end of the stream."""
        available = len(self._buffer) - self._index
        if available >= size:
            data = self._buffer[self._index:self._index + size]
            self._index += size
        else:
            parts = [self._buffer[self._index:]] if available else []
            missing = size - available
            self._buffer, self._index = b"", 0
            while missing > 0:
                chunk = self._stream.read(max(missing, READ_AHEAD))
                if not chunk:
                    break
                if len(chunk) > missing:  # keep the read-ahead for the next call
                    self._buffer, self._index = chunk, missing
                    chunk = chunk[:missing]
                parts.append(chunk)
                missing -= len(chunk)
            data = b"".join(parts)
        self._position += len(data)
        return data

    def peek(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer at the end of the stream), left unread."""
        if len(self._buffer) - self._index < size:
            rest = self._buffer[self._index:]
            self._buffer, self._index = rest, 0
            while len(self._buffer) < size:
                chunk = self._stream.read(max(size - len(self._buffer), READ_AHEAD))
                if not chunk:
                    break
                self._buffer += chunk
        return self._buffer[self._index:self._index + size]

    def advance(self, size: int) -> None:
        """Consume ``size`` bytes that :meth:`peek` returned."""
        self._index += size
        self._position += size

    def read_some(self, limit: int) -> bytes | memoryview:
        """Between 1 and ``limit`` bytes (b"" only at the end of the stream): the buffered read-ahead
        first, then one read of the stream, so big file contents are never copied into the buffer.
        Read-ahead is handed out as a view of the buffer, not a copy (the buffer is never changed in
        place, only replaced, so the view stays valid)."""
        data: bytes | memoryview
        if self._index < len(self._buffer):
            data = memoryview(self._buffer)[self._index:self._index + limit]
            self._index += len(data)
        else:
            data = self._stream.read(min(limit, DATA_CHUNK))
        self._position += len(data)
        return data

    def skip(self, size: int) -> bool:
        """Discard ``size`` bytes; False if the stream ended first."""
        while size > 0:
            data = self.read_some(size)
            if not data:
                return False
            size -= len(data)
        return True


class _HeaderContext:
    """The part of a ``tarfile.TarFile`` that ``TarInfo.fromtarfile`` uses: the source, the offset where
    the next header starts (set by the parser), text decoding settings and the global PAX headers."""

    def __init__(self, source: _Source) -> None:
        self.fileobj = source
        self.offset = 0
        self.encoding = tarfile.ENCODING
        self.errors = "surrogateescape"  # as layers.unpack always opened archives: no name is undecodable
        self.pax_headers: dict[str, str] = {}


class TarStream:
    """Iterate over the members of an uncompressed tar stream; copy a regular member's data with
    :meth:`write_data` (data that is not copied is skipped when the next member is read)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._source = _Source(stream)
        self._context = _HeaderContext(self._source)

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        while (info := self._next()) is not None:
            yield info

    def _next(self) -> tarfile.TarInfo | None:
        context, source = self._context, self._source
        gap = context.offset - source.tell()
        if gap > 0 and not source.skip(gap):
            raise tarfile.ReadError("unexpected end of data")
        if not context.pax_headers:  # a global PAX header changes every later member: tarfile applies it
            block = source.peek(BLOCK)
            info = _plain_header(block, context.encoding, context.errors) if len(block) == BLOCK else None
            if info is not None:
                # What tarfile's _proc_builtin records: where the header and data are, where the next begins.
                info.offset = source.tell()
                source.advance(BLOCK)
                info.offset_data = source.tell()
                data = info.size if info.type in _DATA_TYPES else 0
                context.offset = info.offset_data + -(-data // BLOCK) * BLOCK
                return info
        # The same outcomes as TarFile.next(): a bad or missing first header is an error, a zero block
        # or a bad header later ends the archive (tar writers pad archives with garbage blocks).
        try:
            return tarfile.TarInfo.fromtarfile(context)  # type: ignore[arg-type]
        except _EOF_HEADER:
            return None
        except _EMPTY_HEADER:
            if context.offset == 0:
                raise tarfile.ReadError("empty file") from None
            return None
        except _BAD_HEADER as exc:
            if context.offset == 0:
                raise tarfile.ReadError(str(exc)) from None
            return None
        except _NEXT_HEADER_BAD as exc:
            raise tarfile.ReadError(str(exc)) from None

    def write_data(self, info: tarfile.TarInfo, fd: int) -> None:
        """Write the data of the regular member ``info`` (just returned by the iterator) to ``fd``.
        A sparse member's holes stay holes. tarfile.ReadError (as tarfile's) if the stream ends first."""
        if info.sparse is None:
            self._copy(info.size, fd)
            return
        sparse_map = cast(list[tuple[int, int]], info.sparse)  # (offset, length) pairs of data
        for offset, length in sparse_map:
            os.lseek(fd, offset, os.SEEK_SET)
            self._copy(length, fd)
        os.ftruncate(fd, info.size)

    def _copy(self, size: int, fd: int) -> None:
        source = self._source
        while size > 0:
            data = source.read_some(size)
            if not data:
                raise tarfile.ReadError("unexpected end of data")
            write_all(fd, data)
            size -= len(data)
