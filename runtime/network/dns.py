"""A minimal DNS message codec (RFC 1035): enough to read a query's question and to build answers with
A/AAAA records, NXDOMAIN and SERVFAIL. Stdlib only (the resolver runs in the supervisor).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A = 1
TYPE_PTR = 12
TYPE_AAAA = 28
CLASS_IN = 1
RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
_HEADER = struct.Struct("!HHHHHH")
FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
FLAG_RD = 0x0100
FLAG_RA = 0x0080
OPCODE_MASK = 0x7800


class DNSFormatError(ValueError):
    """A message too short or malformed to answer."""


@dataclass(frozen=True)
class Question:
    name: str  # lower-case, without the trailing dot
    qtype: int
    qclass: int


@dataclass(frozen=True)
class Query:
    id: int
    flags: int
    question: Question
    raw_question: bytes  # the question section as sent, echoed back in answers


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if len(raw) > 63:
            raise ValueError(f"DNS label too long: {label!r}")
        out += bytes([len(raw)]) + raw
    return bytes(out + b"\0")


def _read_name(msg: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at ``offset``; returns it and the offset after it."""
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(msg):
            raise DNSFormatError("name runs past the message")
        length = msg[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(msg):
                raise DNSFormatError("truncated pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | msg[offset + 1]
            jumps += 1
            if jumps > 20:
                raise DNSFormatError("name compression loop")
            continue
        if length == 0:
            offset += 1
            break
        if length > 63:
            raise DNSFormatError("bad label length")
        labels.append(msg[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    return ".".join(labels), (end if end >= 0 else offset)


def parse_query(msg: bytes) -> Query:
    if len(msg) < _HEADER.size:
        raise DNSFormatError("message shorter than a header")
    qid, flags, qdcount, _an, _ns, _ar = _HEADER.unpack_from(msg)
    if qdcount != 1:
        raise DNSFormatError(f"expected one question, got {qdcount}")
    name, off = _read_name(msg, _HEADER.size)
    if off + 4 > len(msg):
        raise DNSFormatError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", msg, off)
    return Query(qid, flags, Question(name.lower(), qtype, qclass), msg[_HEADER.size:off + 4])


def build_query(qid: int, name: str, qtype: int = TYPE_A, recursion: bool = True) -> bytes:
    header = _HEADER.pack(qid, FLAG_RD if recursion else 0, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", qtype, CLASS_IN)


def build_response(query: Query, rcode: int, addresses: list[str] = (), ttl: int = 5,  # type: ignore[assignment]
                   authoritative: bool = True) -> bytes:
    """Answer ``query`` with ``addresses`` of its question type (the others are left out)."""
    records = b""
    count = 0
    for addr in addresses:
        ip = ipaddress.ip_address(addr)
        rtype = TYPE_A if ip.version == 4 else TYPE_AAAA
        if rtype != query.question.qtype:
            continue
        # 0xC00C: a pointer to the question's name right after the header.
        records += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, ttl, len(ip.packed)) + ip.packed
        count += 1
    flags = FLAG_QR | FLAG_RA | (query.flags & (OPCODE_MASK | FLAG_RD)) | (rcode & 0xF)
    if authoritative:
        flags |= FLAG_AA
    return _HEADER.pack(query.id, flags, 1, count, 0, 0) + query.raw_question + records


def build_ptr_response(query: Query, names: list[str], ttl: int = 5) -> bytes:
    """Answer a reverse (PTR) query with ``names``."""
    records = b""
    for name in names:
        rdata = encode_name(name)
        records += struct.pack("!HHHIH", 0xC00C, TYPE_PTR, CLASS_IN, ttl, len(rdata)) + rdata
    flags = FLAG_QR | FLAG_RA | FLAG_AA | (query.flags & (OPCODE_MASK | FLAG_RD))
    return _HEADER.pack(query.id, flags, 1, len(names), 0, 0) + query.raw_question + records


def reverse_pointer_address(name: str) -> str | None:
    """"2.0.18.172.in-addr.arpa" -> "172.18.0.2"; None for anything else."""
    suffix = ".in-addr.arpa"
    if not name.endswith(suffix):
        return None
    parts = name[: -len(suffix)].split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return None
    return ".".join(reversed(parts))


def error_response(msg: bytes, rcode: int) -> bytes | None:
    """A bare error answer to a message we could not parse (None if it has no usable header)."""
    if len(msg) < _HEADER.size:
        return None
    qid, flags = struct.unpack_from("!HH", msg)
    return _HEADER.pack(qid, FLAG_QR | FLAG_RA | (flags & (OPCODE_MASK | FLAG_RD)) | rcode, 0, 0, 0, 0)


@dataclass(frozen=True)
class Answer:
    id: int
    rcode: int
    addresses: list[str]
    names: list[str]


def parse_answer(msg: bytes) -> Answer:
    """The A/AAAA addresses and rcode of a response (used by tests and the benchmark)."""
    if len(msg) < _HEADER.size:
        raise DNSFormatError("message shorter than a header")
    qid, flags, qd, an, _ns, _ar = _HEADER.unpack_from(msg)
    off = _HEADER.size
    for _ in range(qd):
        _, off = _read_name(msg, off)
        off += 4
    addresses = []
    names = []
    for _ in range(an):
        _, off = _read_name(msg, off)
        if off + 10 > len(msg):
            raise DNSFormatError("truncated record")
        rtype, _cls, _ttl, rdlen = struct.unpack_from("!HHIH", msg, off)
        off += 10
        data = msg[off:off + rdlen]
        off += rdlen
        if rtype == TYPE_A and rdlen == 4:
            addresses.append(str(ipaddress.IPv4Address(data)))
        elif rtype == TYPE_AAAA and rdlen == 16:
            addresses.append(str(ipaddress.IPv6Address(data)))
        elif rtype == TYPE_PTR:
            names.append(_read_name(msg, off - rdlen)[0])
    return Answer(qid, flags & 0xF, addresses, names)
