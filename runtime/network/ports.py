"""Published ports: checking and choosing host ports before anything is created, and rendering mappings as
``docker port`` / ``docker ps`` do.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable, Sequence

from runtime.api import PortBinding
from runtime.errors import Conflict, InvalidSpec
from runtime.network.store import PortRow

ANY_V4 = "0.0.0.0"


def _overlaps(ip_a: str, ip_b: str) -> bool:
    """Two host IPs collide if equal, or if either is "all addresses"."""
    wild = ("", ANY_V4, "::")
    return ip_a == ip_b or ip_a in wild or ip_b in wild


def _bind_probe(protocol: str, host_ip: str, port: int) -> int:
    """Bind (and release) ``host_ip:port``; returns the port (the kernel's choice for 0). Raises OSError."""
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, kind) as s:
        if kind == socket.SOCK_STREAM:
            # Without SO_REUSEADDR a port in TIME_WAIT would look taken; a listener still refuses the bind.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host_ip or ANY_V4, port))
        return int(s.getsockname()[1])


def resolve_host_ports(bindings: Sequence[PortBinding], taken: Iterable[PortRow],
                       owner: str = "") -> list[PortBinding]:
    """The bindings with random host ports chosen; Conflict for a host port already published by another
    container or bound by a process on the host. Runs before any kernel object is created."""
    taken_list = [t for t in taken if t.container_id != owner]
    chosen: list[PortBinding] = []
    for b in bindings:
        if b.protocol not in ("tcp", "udp"):
            raise InvalidSpec(f"port {b.container_port}/{b.protocol}: only tcp and udp can be published")
        if not 0 < b.container_port < 65536 or not 0 <= b.host_port < 65536:
            raise InvalidSpec(f"invalid port mapping {b.host_port}:{b.container_port}")
        if ":" in b.host_ip:
            continue  # IPv6 host addresses are not published (IPv4-only networks); docker skips them too
        port = b.host_port
        for attempt in range(50):
            try:
                candidate = _bind_probe(b.protocol, b.host_ip, port)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    raise InvalidSpec(f"cannot publish on {b.host_ip}: not an address of this host") from None
                if exc.errno != errno.EADDRINUSE or port == 0:
                    raise
                raise Conflict(f"Bind for {b.host_ip or ANY_V4}:{port} failed: port is already allocated",
                               hint="stop whatever uses that host port, or publish on another one") from None
            clash: list[object] = [t for t in taken_list if t.protocol == b.protocol and t.host_port == candidate
                     and _overlaps(t.host_ip, b.host_ip)]
            clash += [c for c in chosen if c.protocol == b.protocol and c.host_port == candidate
                      and _overlaps(c.host_ip, b.host_ip)]
            if not clash:
                break
            if port != 0:
                raise Conflict(f"Bind for {b.host_ip or ANY_V4}:{port} failed: port is already allocated",
                               hint="another container publishes it; pick another host port or remove it")
            if attempt == 49:
                raise Conflict("could not find a free random host port")
        chosen.append(PortBinding(container_port=b.container_port, protocol=b.protocol,
                                  host_ip=b.host_ip, host_port=candidate))
    return chosen


def format_port_mappings(ports: Sequence[PortBinding], container_port: int | None = None,
                         protocol: str | None = None) -> list[str]:
    """Lines as ``docker port CONTAINER [PORT[/PROTO]]`` prints them: ``80/tcp -> 0.0.0.0:32768`` for all
    mappings, or just ``0.0.0.0:32768`` when one private port is asked for."""
    lines = []
    for p in sorted(ports, key=lambda p: (p.container_port, p.protocol, p.host_ip, p.host_port)):
        if container_port is not None and (p.container_port != container_port or p.protocol != (protocol or "tcp")):
            continue
        host = p.host_ip or ANY_V4
        host = f"[{host}]" if ":" in host else host
        target = f"{host}:{p.host_port}"
        lines.append(target if container_port is not None else f"{p.container_port}/{p.protocol} -> {target}")
    return lines


def format_ps_ports(ports: Sequence[PortBinding], exposed: Sequence[str] = ()) -> str:
    """The PORTS column of ``docker ps``: ``0.0.0.0:8080->80/tcp, 443/tcp``."""
    parts = [f"{p.host_ip or ANY_V4}:{p.host_port}->{p.container_port}/{p.protocol}"
             for p in sorted(ports, key=lambda p: (p.container_port, p.protocol))]
    published = {f"{p.container_port}/{p.protocol}" for p in ports}
    for e in exposed:
        key = e if "/" in e else f"{e}/tcp"
        if key not in published:
            parts.append(key)
    return ", ".join(parts)
