from __future__ import annotations

import struct

import pytest

from runtime.network import dns


def test_query_roundtrip() -> None:
    raw = dns.build_query(0x1234, "Web.Example.", dns.TYPE_AAAA)
    q = dns.parse_query(raw)
    assert (q.id, q.question.name, q.question.qtype, q.question.qclass) == (0x1234, "web.example",
                                                                            dns.TYPE_AAAA, dns.CLASS_IN)
    assert q.flags & dns.FLAG_RD


def test_response_carries_only_records_of_the_asked_type() -> None:
    q = dns.parse_query(dns.build_query(7, "db", dns.TYPE_A))
    resp = dns.build_response(q, dns.RCODE_NOERROR, ["10.0.0.2", "fd00::5", "10.0.0.3"], ttl=5)
    ans = dns.parse_answer(resp)
    assert (ans.id, ans.rcode, ans.addresses) == (7, 0, ["10.0.0.2", "10.0.0.3"])
    flags = struct.unpack_from("!H", resp, 2)[0]
    assert flags & dns.FLAG_QR and flags & dns.FLAG_AA and flags & dns.FLAG_RD and flags & dns.FLAG_RA
    q6 = dns.parse_query(dns.build_query(8, "db", dns.TYPE_AAAA))
    assert dns.parse_answer(dns.build_response(q6, 0, ["10.0.0.2", "fd00::5"])).addresses == ["fd00::5"]


def test_nxdomain_and_empty_answer() -> None:
    q = dns.parse_query(dns.build_query(9, "nothing.here"))
    ans = dns.parse_answer(dns.build_response(q, dns.RCODE_NXDOMAIN))
    assert (ans.rcode, ans.addresses) == (dns.RCODE_NXDOMAIN, [])


def test_compressed_names_are_followed_and_loops_refused() -> None:
    header = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0)
    # question name "a" + pointer to offset 12... build "x.<ptr to 'a'>": first a name at 12, then question.
    loop = header + b"\xc0\x0c" + struct.pack("!HH", 1, 1)
    with pytest.raises(dns.DNSFormatError, match="loop"):
        dns.parse_query(loop)


@pytest.mark.parametrize("raw", [b"", b"\x00\x01", struct.pack("!HHHHHH", 1, 0, 2, 0, 0, 0) + b"\0\0\1\0\1",
                                 struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x05ab"])
def test_malformed_queries_raise_format_error(raw: bytes) -> None:
    with pytest.raises(dns.DNSFormatError):
        dns.parse_query(raw)


def test_error_response_keeps_id() -> None:
    raw = struct.pack("!HHHHHH", 0xBEEF, dns.FLAG_RD, 2, 0, 0, 0)
    resp = dns.error_response(raw, dns.RCODE_FORMERR)
    assert resp is not None and dns.parse_answer(resp).id == 0xBEEF
    assert dns.parse_answer(resp).rcode == dns.RCODE_FORMERR
    assert dns.error_response(b"\x01", dns.RCODE_FORMERR) is None


def test_long_label_refused() -> None:
    with pytest.raises(ValueError):
        dns.encode_name("a" * 64 + ".example")


def test_ptr_answer_and_reverse_names() -> None:
    q = dns.parse_query(dns.build_query(3, "2.0.18.172.in-addr.arpa", dns.TYPE_PTR))
    ans = dns.parse_answer(dns.build_ptr_response(q, ["p-web-1"]))
    assert ans.names == ["p-web-1"] and ans.rcode == 0
    assert dns.reverse_pointer_address("2.0.18.172.in-addr.arpa") == "172.18.0.2"
    assert dns.reverse_pointer_address("x.0.18.172.in-addr.arpa") is None
    assert dns.reverse_pointer_address("example.com") is None
