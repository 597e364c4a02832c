"""The rtnetlink messages runtime.network.rtnl builds and the replies it parses, byte for byte (no kernel)."""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from runtime.network import rtnl


class FakeSocket:
    """Records what is sent; answers each request with the replies queued for its sequence number."""

    def __init__(self, replies: list[bytes]) -> None:
        self.sent: list[bytes] = []
        self.replies = replies

    def sendto(self, data: bytes, address: tuple[int, int]) -> None:
        self.sent.append(data)

    def recv(self, size: int) -> bytes:
        return self.replies.pop(0)


def _client(replies: list[bytes]) -> tuple[rtnl.Rtnl, FakeSocket]:
    client = rtnl.Rtnl.__new__(rtnl.Rtnl)
    fake = FakeSocket(replies)
    client._sock = fake  # type: ignore[assignment]
    client._seq = 0
    return client, fake


def _error(seq: int, code: int, flags: int = 0, tlvs: bytes = b"") -> bytes:
    payload = struct.pack("=i", code) + struct.pack("=IHHII", 16, 0, 0, seq, 0) + tlvs
    return struct.pack("=IHHII", 16 + len(payload), rtnl.NLMSG_ERROR, flags, seq, 0) + payload


def _header(data: bytes) -> tuple[int, int, int, int, int]:
    return struct.unpack_from("=IHHII", data)


def test_attributes_are_padded_to_four_bytes_and_nested_ones_flagged() -> None:
    assert rtnl._string(rtnl.IFLA_IFNAME, "eth0") == struct.pack("=HH", 9, 3) + b"eth0\0" + b"\0\0\0"
    nested = rtnl._nested(rtnl.IFLA_LINKINFO, rtnl._string(rtnl.IFLA_INFO_KIND, "veth"))
    length, kind = struct.unpack_from("=HH", nested)
    assert kind == rtnl.IFLA_LINKINFO | rtnl.NLA_F_NESTED and length == len(nested)
    assert rtnl.parse_attrs(nested)[rtnl.IFLA_LINKINFO] == rtnl._string(rtnl.IFLA_INFO_KIND, "veth")


def test_veth_request_carries_the_peer_netns_and_both_macs() -> None:
    client, fake = _client([_error(1, 0)])
    client.add_veth("eth0", "hstv1", peer_netns_fd=7, mac="02:42:ac:11:00:02", mtu=1400, up=True)
    (data,) = fake.sent
    length, kind, flags, seq, _ = _header(data)
    assert (length, kind, seq) == (len(data), rtnl.RTM_NEWLINK, 1)
    assert flags == rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
    family, _, index, ifflags, change = struct.unpack_from("=BxHiII", data, 16)
    assert (family, index, ifflags, change) == (socket.AF_UNSPEC, 0, rtnl.IFF_UP, rtnl.IFF_UP)
    attrs = rtnl.parse_attrs(data, 32)
    assert attrs[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert attrs[rtnl.IFLA_ADDRESS] == bytes.fromhex("0242ac110002")
    assert attrs[rtnl.IFLA_MTU] == struct.pack("=I", 1400)
    info = rtnl.parse_attrs(attrs[rtnl.IFLA_LINKINFO])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth\0"
    peer = rtnl.parse_attrs(info[rtnl.IFLA_INFO_DATA])[rtnl.VETH_INFO_PEER]
    peer_attrs = rtnl.parse_attrs(peer, 16)  # after the peer's own ifinfomsg
    assert peer_attrs[rtnl.IFLA_IFNAME] == b"hstv1\0"
    assert peer_attrs[rtnl.IFLA_NET_NS_FD] == struct.pack("=I", 7)
    assert peer_attrs[rtnl.IFLA_MTU] == struct.pack("=I", 1400)
    assert rtnl.IFLA_ADDRESS not in peer_attrs


def test_set_link_changes_only_the_up_flag_and_master() -> None:
    client, fake = _client([_error(1, 0)])
    client.set_link(5, up=True, master=3)
    data = fake.sent[0]
    assert _header(data)[2] == rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK  # a change, not a create
    _, _, index, ifflags, change = struct.unpack_from("=BxHiII", data, 16)
    assert (index, ifflags, change) == (5, rtnl.IFF_UP, rtnl.IFF_UP)
    assert rtnl.parse_attrs(data, 32)[rtnl.IFLA_MASTER] == struct.pack("=I", 3)


def test_default_route_is_static_in_the_main_table() -> None:
    client, fake = _client([_error(1, 0)])
    client.add_default_route("172.17.0.1")
    data = fake.sent[0]
    fields = struct.unpack_from("=BBBBBBBBI", data, 16)
    assert fields[:8] == (socket.AF_INET, 0, 0, 0, rtnl.RT_TABLE_MAIN, rtnl.RTPROT_STATIC,
                          rtnl.RT_SCOPE_UNIVERSE, rtnl.RTN_UNICAST)
    assert rtnl.parse_attrs(data, 28)[rtnl.RTA_GATEWAY] == socket.inet_aton("172.17.0.1")


def test_a_refusal_raises_with_errno_operation_and_the_kernels_reason() -> None:
    tlv = rtnl._attr(rtnl.NLMSGERR_ATTR_MSG, b"Invalid MTU\0")
    client, _ = _client([_error(1, -errno.EINVAL, rtnl.NLM_F_CAPPED | rtnl.NLM_F_ACK_TLVS, tlv)])
    with pytest.raises(rtnl.NetlinkError) as caught:
        client.add_bridge("hstb1", mtu=10)
    assert caught.value.code == errno.EINVAL and isinstance(caught.value, OSError)
    assert str(caught.value) == "create bridge hstb1: Invalid argument (Invalid MTU)"


def test_replies_to_other_requests_are_skipped() -> None:
    client, _ = _client([_error(9, -errno.EEXIST) + _error(1, 0)])
    client.set_link(2, up=True)  # the stale EEXIST of sequence 9 is not ours


NLM_F_MULTI = 2


def test_route_dump_spans_several_reads_and_keeps_only_routes_with_a_destination() -> None:
    def route(dst: str | None, dst_len: int, table: int) -> bytes:
        body = struct.pack("=BBBBBBBBI", socket.AF_INET, dst_len, 0, 0, table, 2, 0, 1, 0)
        if dst is not None:
            body += rtnl._attr(rtnl.RTA_DST, socket.inet_aton(dst))
        return struct.pack("=IHHII", 16 + len(body), rtnl.RTM_NEWROUTE, NLM_F_MULTI, 1, 0) + body

    done = struct.pack("=IHHII", 20, rtnl.NLMSG_DONE, NLM_F_MULTI, 1, 0) + struct.pack("=i", 0)
    client, fake = _client([route(None, 0, 254) + route("10.1.0.0", 16, 254), route("127.0.0.1", 32, 255) + done])
    assert client.routes() == [rtnl.Route("10.1.0.0/16", 254), rtnl.Route("127.0.0.1/32", 255)]
    assert _header(fake.sent[0])[2] == rtnl.NLM_F_REQUEST | rtnl.NLM_F_DUMP
