"""Links through netlink (pyroute2, imported lazily by the caller): the network's bridge and a container's
veth pair, whose peer is created directly inside the container's netns (about 3x faster than moving it).
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import NetworkError
from runtime.network import netns

LOOPBACK_INDEX = 1  # lo is always the first link of a new netns


def iproute() -> Any:
    """A netlink socket in the calling thread's netns (pyroute2 binds its socket to the creating thread)."""
    from pyroute2 import IPRoute

    return IPRoute()


def _sysctl(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def link_index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def ensure_bridge(ipr: Any, name: str, gateway: str, prefixlen: int) -> None:
    """The bridge, up, with the gateway address (idempotent)."""
    idx = link_index(ipr, name)
    if idx is None:
        try:
            ipr.link("add", ifname=name, kind="bridge")
        except Exception as exc:  # noqa: BLE001 - pyroute2 raises NetlinkError (an OSError subclass) or others
            if getattr(exc, "code", None) != errno.EEXIST:
                raise NetworkError(f"cannot create bridge {name}: {exc}") from exc
        idx = link_index(ipr, name)
        if idx is None:
            raise NetworkError(f"bridge {name} vanished right after creation")
    have = {a.get("address") for a in ipr.get_addr(index=idx, family=2)}
    if gateway not in have:
        ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
    ipr.link("set", index=idx, state="up")
    # route_localnet lets the OUTPUT-chain DNAT of 127.0.0.1:PORT leave through this bridge (Docker does the
    # same with userland-proxy=false); it is per interface and goes away with the bridge.
    _sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")


def delete_link(ipr: Any, name: str) -> None:
    idx = link_index(ipr, name)
    if idx is not None:
        try:
            ipr.link("del", index=idx)
        except Exception as exc:  # noqa: BLE001
            if getattr(exc, "code", None) != errno.ENODEV:
                raise


@dataclass(frozen=True)
class EndpointLink:
    veth: str  # host side
    ifname: str  # inside the container
    bridge: str
    ip: str
    prefixlen: int
    mac: str
    gateway: str | None  # default route via this, or None (internal network, or not the first network)


def add_endpoint(ipr: Any, netns_path: Path, link: EndpointLink) -> None:
    """The veth pair (peer created inside the netns), enslaved to the bridge, addressed and routed."""
    bridge_idx = link_index(ipr, link.bridge)
    if bridge_idx is None:
        raise NetworkError(f"bridge {link.bridge} is missing", hint="remove and recreate the network")
    if link_index(ipr, link.veth) is None:
        fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            ipr.link("add", ifname=link.veth, kind="veth",
                     peer={"ifname": link.ifname, "net_ns_fd": fd, "address": link.mac})
        finally:
            os.close(fd)
    idx = link_index(ipr, link.veth)
    ipr.link("set", index=idx, master=bridge_idx, state="up")
    netns.run_in(netns_path, lambda: _configure_inside(link))


def _configure_inside(link: EndpointLink) -> None:
    ipr = iproute()
    try:
        lo = link_index(ipr, "lo")
        if lo is not None:
            ipr.link("set", index=lo, state="up")
        idx = link_index(ipr, link.ifname)
        if idx is None:
            raise NetworkError(f"interface {link.ifname} did not appear in the container's netns")
        have = {a.get("address") for a in ipr.get_addr(index=idx, family=2)}
        if link.ip not in have:
            ipr.addr("add", index=idx, address=link.ip, prefixlen=link.prefixlen)
        ipr.link("set", index=idx, state="up")
        if link.gateway:
            try:
                ipr.route("add", dst="0.0.0.0/0", gateway=link.gateway)
            except Exception as exc:  # noqa: BLE001
                if getattr(exc, "code", None) != errno.EEXIST:
                    raise
    finally:
        ipr.close()


def create_netns_with_endpoints(ipr: Any, netns_path: Path, links: list[EndpointLink]) -> None:
    """A new netns at ``netns_path`` with every endpoint, in one thread: it unshares, keeps the netns with a
    bind mount, creates each veth from the inside with its peer placed directly in the caller's netns
    (neither end is ever moved), and configures lo, addresses and routes. Then the host ends join their
    bridges. Fewer thread hops and netlink round trips than attaching endpoints one by one."""
    bridges = {}
    for link in links:
        idx = link_index(ipr, link.bridge)
        if idx is None:
            raise NetworkError(f"bridge {link.bridge} is missing", hint="remove and recreate the network")
        bridges[link.bridge] = idx
    host_fd = os.open(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        netns.create(netns_path, lambda: _configure_new_netns(host_fd, links))
    finally:
        os.close(host_fd)
    for link in links:
        idx = link_index(ipr, link.veth)
        if idx is None:
            raise NetworkError(f"host end {link.veth} of the veth pair did not appear")
        ipr.link("set", index=idx, master=bridges[link.bridge], state="up")


def _configure_new_netns(host_fd: int, links: list[EndpointLink]) -> None:
    ipr = iproute()
    try:
        ipr.link("set", index=LOOPBACK_INDEX, state="up")
        for link in links:
            ipr.link("add", ifname=link.ifname, kind="veth", address=link.mac,
                     peer={"ifname": link.veth, "net_ns_fd": host_fd})
            idx = link_index(ipr, link.ifname)
            ipr.addr("add", index=idx, address=link.ip, prefixlen=link.prefixlen)
            ipr.link("set", index=idx, state="up")
            if link.gateway:
                ipr.route("add", dst="0.0.0.0/0", gateway=link.gateway)
    finally:
        ipr.close()


def host_routes(ipr: Any) -> list[str]:
    """Destinations routed on the host (main table), for IPAM to avoid."""
    out = []
    for r in ipr.get_routes(family=2):
        dst = r.get("dst")
        if dst:
            out.append(f"{dst}/{r['dst_len']}")
    return out
