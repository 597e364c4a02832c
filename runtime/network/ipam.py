"""IP address management: choosing a network's subnet and gateway, and a container's address. Pure logic:
the caller passes what is taken (host routes, other networks, allocated addresses) and persists the result.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from runtime.errors import Conflict, InvalidSpec, NetworkError

IPv4Net = ipaddress.IPv4Network
IPv4Addr = ipaddress.IPv4Address


@dataclass(frozen=True)
class AddressPool:
    """A base range cut into subnets of ``size`` bits (Docker's default-address-pools entry)."""

    base: IPv4Net
    size: int

    def subnets(self) -> Iterator[IPv4Net]:
        if self.size <= self.base.prefixlen:
            yield self.base
        else:
            yield from self.base.subnets(new_prefix=self.size)


# Docker's defaults: 172.17-31.0.0/16 as /16s, then 192.168.0.0/16 as /20s.
DEFAULT_POOLS = (AddressPool(ipaddress.IPv4Network("172.17.0.0/16"), 16),
                 AddressPool(ipaddress.IPv4Network("172.18.0.0/15"), 16),
                 AddressPool(ipaddress.IPv4Network("172.20.0.0/14"), 16),
                 AddressPool(ipaddress.IPv4Network("172.24.0.0/13"), 16),
                 AddressPool(ipaddress.IPv4Network("192.168.0.0/16"), 20))
POOLS_ENV = "HOIST_ADDRESS_POOLS"


def parse_pools(text: str) -> list[AddressPool]:
    """``"10.200.0.0/16/24,10.201.0.0/16"``: base CIDR, then optionally the size of each subnet."""
    pools = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        parts = item.split("/")
        try:
            if len(parts) == 3:
                base, size = IPv4Net(f"{parts[0]}/{parts[1]}"), int(parts[2])
            elif len(parts) == 2:
                base = IPv4Net(item)
                size = base.prefixlen
            else:
                raise ValueError(item)
        except ValueError:
            raise InvalidSpec(f"invalid address pool {item!r} in {POOLS_ENV}",
                              hint='write BASE/PREFIX[/SIZE], e.g. "10.200.0.0/16/24"') from None
        if not base.prefixlen <= size <= 30:
            raise InvalidSpec(f"address pool {item!r}: subnet size /{size} must be within /{base.prefixlen}../30")
        pools.append(AddressPool(base, size))
    return pools


def configured_pools() -> list[AddressPool]:
    text = os.environ.get(POOLS_ENV, "")
    return parse_pools(text) if text else list(DEFAULT_POOLS)


def choose_subnet(pools: Iterable[AddressPool], taken: Iterable[IPv4Net]) -> IPv4Net:
    """The first pool subnet overlapping nothing in ``taken`` (host routes and other networks)."""
    taken_list = list(taken)
    for pool in pools:
        for candidate in pool.subnets():
            if not any(candidate.overlaps(t) for t in taken_list):
                return candidate
    raise NetworkError("all predefined address pools have been fully subnetted",
                       hint=f"remove unused networks (hoist network prune), give the network an explicit "
                            f"ipam subnet, or set {POOLS_ENV}")


def parse_subnet(text: str, what: str = "subnet") -> IPv4Net:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InvalidSpec(f"invalid {what} {text!r}: {exc}", hint="write it as CIDR, e.g. 10.5.0.0/24") from None
    if not isinstance(net, IPv4Net):
        raise InvalidSpec(f"{what} {text}: only IPv4 bridge networks are supported")
    if net.prefixlen > 30:
        raise InvalidSpec(f"{what} {text} is too small for a gateway and a container", hint="use /30 or larger")
    return net


def parse_address(text: str, what: str) -> IPv4Addr:
    try:
        return IPv4Addr(text)
    except ValueError:
        raise InvalidSpec(f"invalid {what} {text!r}", hint="write an IPv4 address, e.g. 10.5.0.10") from None


@dataclass(frozen=True)
class NetworkAddressing:
    subnet: IPv4Net
    gateway: IPv4Addr
    ip_range: IPv4Net
    reserved: tuple[IPv4Addr, ...]


def plan_network(subnet: IPv4Net, gateway: str | None = None, ip_range: str | None = None,
                 aux_addresses: Iterable[str] = ()) -> NetworkAddressing:
    """Gateway (explicit or the first host of ``ip_range``/subnet, as Docker does) and checked sub-ranges."""
    rng = parse_subnet(ip_range, "ip_range") if ip_range else subnet
    if not rng.subnet_of(subnet):
        raise InvalidSpec(f"ip_range {rng} is not inside subnet {subnet}")
    if gateway:
        gw = parse_address(gateway, "gateway")
        if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
            raise InvalidSpec(f"gateway {gw} is not a usable address of subnet {subnet}")
    else:
        gw = next(subnet.hosts()) if rng == subnet else next(rng.hosts())
    reserved = []
    for aux in aux_addresses:
        addr = parse_address(aux, "aux address")
        if addr not in subnet:
            raise InvalidSpec(f"aux address {addr} is not inside subnet {subnet}")
        reserved.append(addr)
    return NetworkAddressing(subnet, gw, rng, tuple(reserved))


def allocate_address(addressing: NetworkAddressing, used: Iterable[str], requested: str | None = None) -> IPv4Addr:
    """A free address: ``requested`` if given and free, else the lowest free host of the ip_range."""
    taken = {IPv4Addr(u) for u in used} | {addressing.gateway} | set(addressing.reserved)
    subnet = addressing.subnet
    if requested:
        addr = parse_address(requested, "ipv4_address")
        if addr not in subnet or addr in (subnet.network_address, subnet.broadcast_address):
            raise InvalidSpec(f"address {addr} is not a usable address of the network's subnet {subnet}",
                              hint="pick an ipv4_address inside the network's ipam subnet")
        if addr in taken:
            raise Conflict(f"address {addr} is already in use on the network",
                           hint="choose another ipv4_address, or remove the container using it")
        return addr
    for addr in addressing.ip_range.hosts():
        if addr not in taken and addr != subnet.broadcast_address and addr != subnet.network_address:
            return addr
    raise NetworkError(f"no free address left in {addressing.ip_range}",
                       hint="remove unused containers, or give the network a larger subnet or ip_range")


def mac_for(ip: IPv4Addr) -> str:
    """Docker's scheme: 02:42 followed by the four bytes of the IPv4 address (stable, locally administered)."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)
