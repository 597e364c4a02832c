"""Helpers for network tests without the container runtime: the network manager against the kernel, and
small Python programs started inside a container's netns with nsenter (servers and clients)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec, PortBinding
from runtime.network.manager import ContainerNetwork, NetworkManager
from runtime.network.resolver import ContainerResolver

PROJECT_DIR = Path(__file__).resolve().parents[3]

# A TCP and UDP echo server: answers "<name>:<what it got>", prints "ready" once both sockets listen.
SERVER = r"""
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", port)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
def udp():
    while True:
        data, peer = u.recvfrom(2048); u.sendto(name.encode() + b":" + data, peer)
threading.Thread(target=udp, daemon=True).start()
print("ready", flush=True)
while True:
    c, _ = t.accept()
    with c:
        c.sendall(name.encode() + b":" + c.recv(2048))
"""

# Resolve names through 127.0.0.11 and talk TCP/UDP: prints one JSON object.
CLIENT = r"""
import json, socket, sys
sys.path.insert(0, sys.argv[1])
from runtime.network import dns
out = {}
def resolve(name, qtype=dns.TYPE_A):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    for attempt in range(3):  # UDP: retry like a stub resolver would, so a loaded machine cannot flake it
        s.sendto(dns.build_query(7, name, qtype), ("127.0.0.11", 53))
        try:
            a = dns.parse_answer(s.recv(4096)); return {"rcode": a.rcode, "addresses": a.addresses}
        except TimeoutError:
            if attempt == 2:
                raise
def resolve_tcp(name, qtype=dns.TYPE_A):
    q = dns.build_query(9, name, qtype)
    with socket.create_connection(("127.0.0.11", 53), timeout=3) as c:
        c.sendall(len(q).to_bytes(2, "big") + q)
        head = c.recv(2); n = int.from_bytes(head, "big"); data = b""
        while len(data) < n:
            data += c.recv(n - len(data))
    a = dns.parse_answer(data); return {"rcode": a.rcode, "addresses": a.addresses}
def tcp(host, port):
    try:
        c = socket.create_connection((host, port), timeout=1.5); c.sendall(b"hi"); c.settimeout(3)
        return c.recv(2048).decode()
    except OSError as e:
        return "error:" + type(e).__name__
def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1.5)
    for attempt in range(2):  # one resend: a datagram may be lost on a loaded machine
        try:
            s.sendto(b"hi", (host, port)); return s.recv(2048).decode()
        except OSError as e:
            if attempt == 1:
                return "error:" + type(e).__name__
for op in json.loads(sys.argv[2]):
    kind, args = op[0], op[1:]
    key = ":".join([kind] + [str(a) for a in args])
    out[key] = {"resolve": resolve, "resolve_tcp": resolve_tcp, "tcp": tcp, "udp": udp}[kind](*args)
print(json.dumps(out))
"""


def run_client(netns_path: str | None, ops: list[list[object]], timeout: float = 30) -> dict[str, object]:
    """Run the client inside ``netns_path`` (None: the current netns, i.e. the host)."""
    import json

    cmd = [sys.executable, "-c", CLIENT, str(PROJECT_DIR), json.dumps(ops)]
    if netns_path:
        cmd = ["nsenter", f"--net={netns_path}", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@dataclass
class Harness:
    manager: NetworkManager
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    resolvers: list[ContainerResolver] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    def network(self, name: str, subnet: ipaddress.IPv4Network | None, **kw: object) -> str:
        ipam = [IPAMConfig(subnet=str(subnet))] if subnet else []
        return self.manager.create_network(NetworkSpec(name=name, ipam=ipam, **kw)).name  # type: ignore[arg-type]

    def container(self, name: str, networks: list[tuple[str, list[str]]] | list[EndpointSpec],
                  ports: list[PortBinding] = (), dns_servers: list[str] = ("127.0.0.1#1",),  # type: ignore[assignment]
                  resolver: bool = True, container_id: str | None = None, **kw: object) -> tuple[str, ContainerNetwork]:
        """A "container": its netns and endpoints, plus its DNS resolver. ``dns_servers`` defaults to a
        closed loopback port so forwarded queries fail fast and never leave the machine."""
        cid = container_id or secrets.token_hex(32)
        eps = [n if isinstance(n, EndpointSpec) else EndpointSpec(network=n[0], aliases=list(n[1]))
               for n in networks]
        spec = ContainerSpec(name=name, image="none", networks=eps, ports=list(ports), dns=list(dns_servers),
                             **kw)  # type: ignore[arg-type]
        self.containers.append(cid)
        net = self.manager.prepare_container(cid, spec)
        if resolver and net.netns_path:
            r = ContainerResolver(self.manager.root, cid, net.netns_path)
            r.start()
            self.resolvers.append(r)
        return cid, net

    def release(self, cid: str) -> None:
        for r in [r for r in self.resolvers if r.container_id == cid]:
            r.stop()
            self.resolvers.remove(r)
        self.manager.release_container(cid)

    def serve(self, netns_path: str, name: str, port: int) -> None:
        proc = subprocess.Popen(["nsenter", f"--net={netns_path}", sys.executable, "-c", SERVER, name, str(port)],
                                stdout=subprocess.PIPE, text=True)
        self.processes.append(proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready and proc.stdout.readline().strip() == "ready", f"server {name} did not start"

    def close(self) -> None:
        for p in self.processes:
            p.kill()
            p.wait()
        for r in self.resolvers:
            r.stop()
        for cid in self.containers:
            self.manager.release_container(cid)
        for n in self.manager.list_networks():
            self.manager.remove_network(n.id)


@pytest.fixture
def harness(hoist_root: Path) -> Iterator[Harness]:
    h = Harness(NetworkManager(hoist_root))
    try:
        yield h
    finally:
        h.close()
    # The leak checker sees links, netns and mounts; firewall rules are checked here.
    tag = h.manager.tag
    left = [line for line in subprocess.run(["iptables-save"], capture_output=True, text=True).stdout.splitlines()
            if f"hoist:{tag}" in line or f"HOIST-{tag}-" in line]
    assert not left, "firewall rules left behind:\n" + "\n".join(left)


@contextmanager
def docker_like_host(tag: str) -> Iterator[str]:
    """A network namespace set up as a host running Docker: br_netfilter calling iptables on bridged
    traffic, FORWARD policy DROP with Docker's DOCKER-USER jump. Never touches the real host's firewall."""
    name = f"hoist-{tag}-dockerhost-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    path = f"/run/netns/{name}"
    try:
        for cmd in (["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"],
                    ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
                    ["ip", "link", "set", "lo", "up"],
                    ["iptables", "-P", "FORWARD", "DROP"],
                    ["iptables", "-N", "DOCKER-USER"],
                    ["iptables", "-A", "FORWARD", "-j", "DOCKER-USER"],
                    ["iptables", "-A", "DOCKER-USER", "-j", "RETURN"]):
            subprocess.run(["nsenter", f"--net={path}", *cmd], check=True)
        yield path
    finally:
        subprocess.run(["ip", "netns", "del", name], check=True)


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def no_objects_of(root: Path, cid: str) -> bool:
    from runtime import naming

    netns_file = naming.run_dir(root) / "netns" / cid
    return not netns_file.exists() and os.path.exists(root)
