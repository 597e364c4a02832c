"""The network tables of the state database (all prefixed ``net_``). Stdlib only: the resolver reads them
from inside the lean supervisor process.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from runtime.state import StateDB, register_schema

register_schema("network", """
CREATE TABLE IF NOT EXISTS net_networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    driver TEXT NOT NULL,
    internal INTEGER NOT NULL,
    attachable INTEGER NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    subnet TEXT NOT NULL,
    gateway TEXT NOT NULL,
    ip_range TEXT NOT NULL,
    reserved TEXT NOT NULL,     -- JSON list of aux addresses IPAM must not hand out
    bridge TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS net_endpoints (
    container_id TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES net_networks(id),
    endpoint_id TEXT NOT NULL,
    ifname TEXT NOT NULL,       -- inside the container (eth0, eth1, ...)
    veth TEXT NOT NULL,         -- host side
    ip TEXT NOT NULL,
    mac TEXT NOT NULL,
    aliases TEXT NOT NULL,      -- JSON list: the names this endpoint answers to besides the container's
    PRIMARY KEY (container_id, network_id),
    UNIQUE (network_id, ip)
);
CREATE TABLE IF NOT EXISTS net_containers (
    container_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hostname TEXT NOT NULL,
    mode TEXT NOT NULL,
    netns TEXT NOT NULL,
    upstreams TEXT NOT NULL,    -- JSON list: the resolver's forwarders (spec dns, else the host's)
    links TEXT NOT NULL         -- JSON list of [container name, alias]
);
CREATE TABLE IF NOT EXISTS net_ports (
    container_id TEXT NOT NULL,
    protocol TEXT NOT NULL,
    host_ip TEXT NOT NULL,
    host_port INTEGER NOT NULL,
    container_port INTEGER NOT NULL,
    container_ip TEXT NOT NULL,
    PRIMARY KEY (protocol, host_ip, host_port)
);
""")


@dataclass(frozen=True)
class NetworkRow:
    id: str
    name: str
    driver: str
    internal: bool
    attachable: bool
    labels: dict[str, str]
    options: dict[str, str]
    subnet: str
    gateway: str
    ip_range: str
    reserved: list[str]
    bridge: str
    created: str

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> NetworkRow:
        return cls(id=r["id"], name=r["name"], driver=r["driver"], internal=bool(r["internal"]),
                   attachable=bool(r["attachable"]), labels=json.loads(r["labels"]),
                   options=json.loads(r["options"]), subnet=r["subnet"], gateway=r["gateway"],
                   ip_range=r["ip_range"], reserved=json.loads(r["reserved"]), bridge=r["bridge"],
                   created=r["created"])


@dataclass(frozen=True)
class EndpointRow:
    container_id: str
    network_id: str
    endpoint_id: str
    ifname: str
    veth: str
    ip: str
    mac: str
    aliases: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> EndpointRow:
        return cls(container_id=r["container_id"], network_id=r["network_id"], endpoint_id=r["endpoint_id"],
                   ifname=r["ifname"], veth=r["veth"], ip=r["ip"], mac=r["mac"],
                   aliases=json.loads(r["aliases"]))


@dataclass(frozen=True)
class ContainerRow:
    container_id: str
    name: str
    hostname: str
    mode: str
    netns: str
    upstreams: list[str]
    links: list[tuple[str, str]]

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> ContainerRow:
        return cls(container_id=r["container_id"], name=r["name"], hostname=r["hostname"], mode=r["mode"],
                   netns=r["netns"], upstreams=json.loads(r["upstreams"]),
                   links=[(a, b) for a, b in json.loads(r["links"])])


@dataclass(frozen=True)
class PortRow:
    container_id: str
    protocol: str
    host_ip: str
    host_port: int
    container_port: int
    container_ip: str


class NetworkStore:
    """Typed reads and writes of the net_ tables."""

    def __init__(self, root: Path, db: StateDB | None = None) -> None:
        self.db = db or StateDB(root)

    # networks
    def networks(self) -> list[NetworkRow]:
        return [NetworkRow.from_row(r) for r in self.db.query("SELECT * FROM net_networks ORDER BY created")]

    def find_network(self, ref: str) -> NetworkRow | None:
        rows = self.db.query("SELECT * FROM net_networks WHERE name = ? OR id = ?", (ref, ref))
        if not rows and len(ref) >= 3:
            rows = self.db.query("SELECT * FROM net_networks WHERE id LIKE ?", (ref + "%",))
            if len(rows) > 1:
                return None
        return NetworkRow.from_row(rows[0]) if rows else None

    # endpoints
    def endpoints_of_network(self, network_id: str) -> list[EndpointRow]:
        return [EndpointRow.from_row(r) for r in
                self.db.query("SELECT * FROM net_endpoints WHERE network_id = ? ORDER BY rowid", (network_id,))]

    def endpoints_of_container(self, container_id: str) -> list[EndpointRow]:
        return [EndpointRow.from_row(r) for r in
                self.db.query("SELECT * FROM net_endpoints WHERE container_id = ? ORDER BY rowid",
                              (container_id,))]

    def endpoints_of_network_ip(self, ip: str) -> list[EndpointRow]:
        return [EndpointRow.from_row(r) for r in self.db.query("SELECT * FROM net_endpoints WHERE ip = ?", (ip,))]

    def container(self, container_id: str) -> ContainerRow | None:
        rows = self.db.query("SELECT * FROM net_containers WHERE container_id = ?", (container_id,))
        return ContainerRow.from_row(rows[0]) if rows else None

    def containers(self, ids: list[str]) -> dict[str, ContainerRow]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.query(f"SELECT * FROM net_containers WHERE container_id IN ({marks})", tuple(ids))
        return {r["container_id"]: ContainerRow.from_row(r) for r in rows}

    # ports
    def ports(self, container_id: str | None = None) -> list[PortRow]:
        if container_id is None:
            rows = self.db.query("SELECT * FROM net_ports")
        else:
            rows = self.db.query("SELECT * FROM net_ports WHERE container_id = ? ORDER BY rowid", (container_id,))
        return [PortRow(r["container_id"], r["protocol"], r["host_ip"], r["host_port"], r["container_port"],
                        r["container_ip"]) for r in rows]
