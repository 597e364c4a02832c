"""Container rows in the state database, and (de)serialising a ContainerSpec to JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtime.api import (
    ContainerSpec,
    EndpointSpec,
    EndpointState,
    Healthcheck,
    Mount,
    PortBinding,
    Resources,
    RestartPolicy,
    Ulimit,
)
from runtime.plain import as_plain
from runtime.state import StateDB, register_schema

register_schema("containers", """
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL,
    created TEXT NOT NULL,
    labels TEXT NOT NULL,
    spec TEXT NOT NULL,
    volumes TEXT NOT NULL,      -- names of the volumes this container created (anonymous ones)
    network TEXT NOT NULL       -- {"endpoints": [...], "ports": [...]} from the network manager
);
""")


@dataclass
class ContainerRecord:
    """A container's row: what it was created from and what the network manager gave it."""

    id: str
    name: str
    image: str
    image_id: str
    created: str
    labels: dict[str, str]
    spec: ContainerSpec
    anonymous_volumes: list[str]
    endpoints: list[EndpointState]
    ports: list[PortBinding]


BLOCK_IO_LISTS = ("blkio_weight_device", "device_read_bps", "device_write_bps", "device_read_iops",
                  "device_write_iops")


def spec_to_json(spec: ContainerSpec) -> str:
    return json.dumps(as_plain(spec))


def spec_from_json(text: str) -> ContainerSpec:
    raw: dict[str, Any] = json.loads(text)
    raw["mounts"] = [Mount(**m) for m in raw.get("mounts", [])]
    resources = raw.get("resources", {})
    for key in BLOCK_IO_LISTS:
        resources[key] = [tuple(entry) for entry in resources.get(key, [])]
    raw["resources"] = Resources(**resources)
    raw["restart"] = RestartPolicy(**raw.get("restart", {}))
    raw["ulimits"] = [Ulimit(**u) for u in raw.get("ulimits", [])]
    raw["ports"] = [PortBinding(**p) for p in raw.get("ports", [])]
    raw["networks"] = [EndpointSpec(**n) for n in raw.get("networks", [])]
    raw["extra_hosts"] = [tuple(h) for h in raw.get("extra_hosts", [])]
    raw["links"] = [tuple(h) for h in raw.get("links", [])]
    if raw.get("healthcheck"):
        raw["healthcheck"] = Healthcheck(**raw["healthcheck"])
    known = ContainerSpec.__dataclass_fields__
    return ContainerSpec(**{k: v for k, v in raw.items() if k in known})


def _record(row: Any) -> ContainerRecord:
    net = json.loads(row["network"])
    return ContainerRecord(
        id=row["id"], name=row["name"], image=row["image"], image_id=row["image_id"], created=row["created"],
        labels=json.loads(row["labels"]), spec=spec_from_json(row["spec"]),
        anonymous_volumes=json.loads(row["volumes"]),
        endpoints=[EndpointState(**e) for e in net.get("endpoints", [])],
        ports=[PortBinding(**p) for p in net.get("ports", [])])


class ContainerRecords:
    def __init__(self, db: StateDB) -> None:
        self.db = db

    def insert(self, rec: ContainerRecord) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO containers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.id, rec.name, rec.image, rec.image_id, rec.created, json.dumps(rec.labels),
                 spec_to_json(rec.spec), json.dumps(rec.anonymous_volumes), _network_json(rec.endpoints, rec.ports)))

    def update_network(self, container_id: str, endpoints: list[EndpointState], ports: list[PortBinding]) -> None:
        """After network connect/disconnect (or a rebuild): the row follows the network manager."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE containers SET network = ? WHERE id = ?", (_network_json(endpoints, ports), container_id))

    def name_taken(self, name: str) -> str | None:
        rows = self.db.query("SELECT id FROM containers WHERE name = ?", (name,))
        return rows[0]["id"] if rows else None

    def find(self, ref: str) -> ContainerRecord | None:
        """By full id, name, or a unique id prefix (docker's rules)."""
        rows = self.db.query("SELECT * FROM containers WHERE id = ? OR name = ?", (ref, ref.lstrip("/")))
        if not rows and len(ref) >= 1 and all(c in "0123456789abcdef" for c in ref):
            rows = self.db.query("SELECT * FROM containers WHERE id LIKE ?", (ref + "%",))
            if len(rows) > 1:
                return None
        return _record(rows[0]) if rows else None

    def all(self) -> list[ContainerRecord]:
        return [_record(r) for r in self.db.query("SELECT * FROM containers ORDER BY created, id")]

    def ids(self) -> list[str]:
        """Every container's id, without decoding the rows (``all()`` parses each one's spec)."""
        return [r["id"] for r in self.db.query("SELECT id FROM containers")]

    def delete(self, container_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM containers WHERE id = ?", (container_id,))

    def volume_users(self, volume: str) -> list[str]:
        users = []
        for rec in self.all():
            if any(m.type == "volume" and m.source == volume for m in rec.spec.mounts) or \
                    volume in rec.anonymous_volumes:
                users.append(rec.name)
        return users


def _network_json(endpoints: list[EndpointState], ports: list[PortBinding]) -> str:
    return json.dumps({"endpoints": as_plain(endpoints), "ports": as_plain(ports)})
