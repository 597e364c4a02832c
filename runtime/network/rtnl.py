"""A small rtnetlink client over a raw AF_NETLINK socket: exactly the requests hoist's bridge networking makes
(bridge and veth creation, link up / master / hairpin, IPv4 addresses, the default route, dumps of addresses
and routes, link deletion), as struct-packed messages.

Why not pyroute2: importing it (with asyncio, which it pulls in) costs 70–95 ms of every ``up``, more than
all the netlink work of ten containers. The messages below are the ones ``ip`` (iproute2) sends; the kernel
ABI they follow is stable (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h).

A netlink socket belongs to the network namespace of the thread that opened it: open an ``Rtnl`` in the
thread (and so the netns) whose links it should change. Failures raise :class:`NetlinkError` (an OSError
with the errno, the operation and the kernel's extended-ack text when there is one).
"""

from __future__ import annotations

import errno as errno_module
import ipaddress
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

# linux/netlink.h
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_CAPPED = 0x100  # in an error reply: the request was not echoed back
NLM_F_ACK_TLVS = 0x200  # in an error reply: extended-ack attributes follow
NLA_F_NESTED = 0x8000
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSGERR_ATTR_MSG = 1

# linux/rtnetlink.h
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_GETROUTE = 26
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4  # what pyroute2 and `ip route add` record for a route added by hand
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1
RTA_DST = 1
RTA_GATEWAY = 5
RTA_TABLE = 15  # the table id as u32 (rtm_table holds only ids below 256)

# linux/if_link.h, linux/if_addr.h, linux/veth.h
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_MASTER = 10
IFLA_PROTINFO = 12
IFLA_LINKINFO = 18
IFLA_GROUP = 27
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4  # hairpin mode of a bridge port
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFF_UP = 0x1
AF_BRIDGE = 7

_NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
_IFINFOMSG = struct.Struct("=BxHiII")  # family, (pad), device type, index, flags, change mask
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefix length, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst len, src len, tos, table, protocol, scope, type, flags
_RTATTR = struct.Struct("=HH")  # length, type
RECV_BUFFER = 65536
TIMEOUT = 10.0  # seconds; the kernel answers in microseconds, this only bounds a wedged socket


class NetlinkError(OSError):
    """The kernel refused a request: ``code`` is the errno (callers test it for EEXIST / ENODEV), ``what``
    the operation; ``str()`` reads "create bridge X: File exists"."""

    def __init__(self, code: int, what: str, detail: str = "") -> None:
        text = os.strerror(code) + (f" ({detail})" if detail else "")
        super().__init__(code, text)
        self.code = code
        self.what = what

    def __str__(self) -> str:
        return f"{self.what}: {self.strerror}"


def _attr(kind: int, payload: bytes) -> bytes:
    header = _RTATTR.pack(_RTATTR.size + len(payload), kind)
    return header + payload + b"\0" * (-len(payload) % 4)


def _nested(kind: int, *attrs: bytes) -> bytes:
    return _attr(kind | NLA_F_NESTED, b"".join(attrs))


def _string(kind: int, text: str) -> bytes:
    return _attr(kind, text.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("=I", value))


def _mac(kind: int, mac: str) -> bytes:
    return _attr(kind, bytes.fromhex(mac.replace(":", "")))


def _ipv4(kind: int, address: str) -> bytes:
    return _attr(kind, ipaddress.IPv4Address(address).packed)


def _ifinfo(index: int = 0, *, up: bool = False, family: int = socket.AF_UNSPEC) -> bytes:
    return _IFINFOMSG.pack(family, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


def parse_attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """Attributes from ``offset`` to the end of ``data`` (type without the nested/byte-order flags)."""
    out: dict[int, bytes] = {}
    while offset + _RTATTR.size <= len(data):
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            break
        out[kind & 0x3FFF] = data[offset + _RTATTR.size:offset + length]
        offset += (length + 3) & ~3
    return out


@dataclass(frozen=True)
class Route:
    dst: str  # "10.0.0.0/8"
    table: int


class Rtnl:
    """One NETLINK_ROUTE socket in the calling thread's netns; not thread-safe (use one per thread)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                   socket.NETLINK_ROUTE)
        try:
            self._sock.settimeout(TIMEOUT)
            # Errors come back without our request echoed, and with the kernel's own reason where it has one.
            for option in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
                try:
                    self._sock.setsockopt(SOL_NETLINK, option, 1)
                except OSError:
                    pass  # an old kernel: plain errno replies still work
            self._sock.bind((0, 0))
        except BaseException:
            self._sock.close()
            raise
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- transport

    def _send(self, kind: int, flags: int, body: bytes) -> int:
        self._seq += 1
        self._sock.sendto(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, flags, self._seq, 0) + body, (0, 0))
        return self._seq

    def _messages(self, seq: int) -> Iterator[tuple[int, int, bytes]]:
        """(type, flags, payload) of the replies to request ``seq``, as they arrive."""
        while True:
            data = self._sock.recv(RECV_BUFFER)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, flags, reply_seq, _ = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    break
                if reply_seq == seq:
                    yield kind, flags, data[offset + _NLMSGHDR.size:offset + length]
                offset += (length + 3) & ~3

    def request(self, kind: int, body: bytes, what: str, *, create: bool = False) -> None:
        """Send one change and wait for the kernel's acknowledgement; NetlinkError if it refused."""
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_EXCL if create else 0)
        seq = self._send(kind, flags, body)
        for reply_kind, reply_flags, payload in self._messages(seq):
            if reply_kind == NLMSG_ERROR:
                _raise_for(payload, reply_flags, what)
                return

    def dump(self, kind: int, body: bytes, what: str) -> Iterator[bytes]:
        """The payloads of a dump request."""
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)
        for reply_kind, reply_flags, payload in self._messages(seq):
            if reply_kind == NLMSG_DONE:
                return
            if reply_kind == NLMSG_ERROR:
                _raise_for(payload, reply_flags, what)
                return
            yield payload

    # ----------------------------------------------------------------------------------------- links

    def add_bridge(self, name: str, *, mtu: int | None = None) -> None:
        attrs = _string(IFLA_IFNAME, name) + (_u32(IFLA_MTU, mtu) if mtu else b"")
        attrs += _nested(IFLA_LINKINFO, _string(IFLA_INFO_KIND, "bridge"))
        self.request(RTM_NEWLINK, _ifinfo() + attrs, f"create bridge {name}", create=True)

    def add_veth(self, name: str, peer: str, *, peer_netns_fd: int | None = None, mac: str | None = None,
                 peer_mac: str | None = None, mtu: int | None = None, up: bool = False) -> None:
        """A veth pair ``name`` (here, up if asked) and ``peer`` (in the netns of ``peer_netns_fd`` when given,
        created there directly: nothing is moved afterwards)."""
        peer_attrs = _string(IFLA_IFNAME, peer)
        if peer_netns_fd is not None:
            peer_attrs += _u32(IFLA_NET_NS_FD, peer_netns_fd)
        if peer_mac:
            peer_attrs += _mac(IFLA_ADDRESS, peer_mac)
        if mtu:
            peer_attrs += _u32(IFLA_MTU, mtu)
        info = _nested(IFLA_LINKINFO, _string(IFLA_INFO_KIND, "veth"),
                       _nested(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, _ifinfo() + peer_attrs)))
        attrs = _string(IFLA_IFNAME, name) + (_mac(IFLA_ADDRESS, mac) if mac else b"")
        attrs += (_u32(IFLA_MTU, mtu) if mtu else b"") + info
        self.request(RTM_NEWLINK, _ifinfo(up=up) + attrs, f"create veth pair {name}/{peer}", create=True)

    def set_link(self, index: int, *, up: bool = False, master: int | None = None) -> None:
        """Bring a link up and/or enslave it to a bridge, in one request."""
        attrs = _u32(IFLA_MASTER, master) if master is not None else b""
        self.request(RTM_NEWLINK, _ifinfo(index, up=up) + attrs, f"configure link #{index}")

    def set_hairpin(self, index: int, on: bool = True) -> None:
        """The bridge-port flag `bridge link set dev X hairpin on` sets."""
        attrs = _nested(IFLA_PROTINFO, _attr(IFLA_BRPORT_MODE, struct.pack("=B", 1 if on else 0)))
        self.request(RTM_SETLINK, _ifinfo(index, family=AF_BRIDGE) + attrs, f"set hairpin mode on link #{index}")

    def delete_link(self, index: int) -> None:
        self.request(RTM_DELLINK, _ifinfo(index), f"delete link #{index}")

    def delete_link_named(self, name: str) -> None:
        self.request(RTM_DELLINK, _ifinfo() + _string(IFLA_IFNAME, name), f"delete link {name}")

    def set_group(self, name: str, group: int) -> None:
        """Put link ``name`` in link group ``group`` (``ip link set NAME group N``)."""
        self.request(RTM_NEWLINK, _ifinfo() + _string(IFLA_IFNAME, name) + _u32(IFLA_GROUP, group),
                     f"set link {name} in group {group}")

    def links_in_group(self, group: int) -> list[str]:
        """The names of the links in link group ``group``."""
        out = []
        for payload in self.dump(RTM_GETLINK, _ifinfo(), "list links"):
            attrs = parse_attrs(payload, _IFINFOMSG.size)
            raw = attrs.get(IFLA_GROUP)
            if raw is not None and struct.unpack("=I", raw[:4])[0] == group and IFLA_IFNAME in attrs:
                out.append(attrs[IFLA_IFNAME].rstrip(b"\0").decode())
        return out

    def delete_group(self, group: int) -> None:
        """Delete every link of link group ``group`` in one kernel batch (``ip link del group N``)."""
        self.request(RTM_DELLINK, _ifinfo() + _u32(IFLA_GROUP, group), f"delete link group {group}")

    # ------------------------------------------------------------------------------ addresses, routes

    def add_address(self, index: int, address: str, prefixlen: int) -> None:
        """An IPv4 address (scope global, no broadcast: what pyroute2 set before)."""
        body = _IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        body += _ipv4(IFA_LOCAL, address) + _ipv4(IFA_ADDRESS, address)
        self.request(RTM_NEWADDR, body, f"add address {address}/{prefixlen} to link #{index}", create=True)

    def addresses(self, index: int) -> list[str]:
        """The IPv4 addresses of link ``index``."""
        out = []
        for payload in self.dump(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0), "list addresses"):
            family, _, _, _, link = _IFADDRMSG.unpack_from(payload)
            if family != socket.AF_INET or link != index:
                continue
            attrs = parse_attrs(payload, _IFADDRMSG.size)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if raw is not None and len(raw) == 4:
                out.append(socket.inet_ntoa(raw))
        return out

    def add_default_route(self, gateway: str) -> None:
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        self.request(RTM_NEWROUTE, body + _ipv4(RTA_GATEWAY, gateway), f"add default route via {gateway}",
                     create=True)

    def routes(self) -> list[Route]:
        """Every IPv4 route with a destination, in every table (the default route has none)."""
        out = []
        body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
        for payload in self.dump(RTM_GETROUTE, body, "list routes"):
            family, dst_len, _, _, table, _, _, _, _ = _RTMSG.unpack_from(payload)
            if family != socket.AF_INET:
                continue
            attrs = parse_attrs(payload, _RTMSG.size)
            dst = attrs.get(RTA_DST)
            if dst is not None and len(dst) == 4:
                table = struct.unpack("=I", attrs[RTA_TABLE])[0] if RTA_TABLE in attrs else table
                out.append(Route(f"{socket.inet_ntoa(dst)}/{dst_len}", table))
        return out


def _raise_for(payload: bytes, flags: int, what: str) -> None:
    """An NLMSG_ERROR payload: error 0 is the acknowledgement, anything else a refusal."""
    (code,) = struct.unpack_from("=i", payload)
    if code == 0:
        return
    detail = ""
    if flags & NLM_F_ACK_TLVS:
        # After the errno comes the request's header (only the header when capped), then the attributes.
        echoed = _NLMSGHDR.size if flags & NLM_F_CAPPED else _NLMSGHDR.unpack_from(payload, 4)[0]
        message = parse_attrs(payload, 4 + ((echoed + 3) & ~3)).get(NLMSGERR_ATTR_MSG)
        if message:
            detail = message.rstrip(b"\0").decode(errors="replace")
    raise NetlinkError(-code if code < 0 else errno_module.EIO, what, detail)
