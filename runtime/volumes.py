"""Named volumes, local driver: ``<root>/volumes/<name>/_data`` plus a row in the state database."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from runtime.api import VolumeInfo, VolumeSpec
from runtime.errors import Conflict, InvalidSpec, NotFound
from runtime.state import StateDB, register_schema

VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"

register_schema("volumes", """
CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    created TEXT NOT NULL
);
""")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def labels_match(labels: Mapping[str, str], wanted: Mapping[str, str | None] | None) -> bool:
    """Docker's label filter: key present (value None) or key equal to value, all of them."""
    for key, value in (wanted or {}).items():
        if key not in labels or (value is not None and labels[key] != value):
            return False
    return True


class VolumeStore:
    def __init__(self, root: Path, db: StateDB) -> None:
        self.root = root
        self.dir = root / "volumes"
        self.db = db

    def data_dir(self, name: str) -> Path:
        return self.dir / name / "_data"

    def _info(self, row: object) -> VolumeInfo:
        r = row  # sqlite3.Row
        return VolumeInfo(name=r["name"], driver=r["driver"], labels=json.loads(r["labels"]),  # type: ignore[index]
                          mountpoint=str(self.data_dir(r["name"])), created=r["created"])  # type: ignore[index]

    def create(self, spec: VolumeSpec) -> tuple[VolumeInfo, bool]:
        """Create (or return the existing volume of that name, as docker does); True when it is new."""
        if spec.driver not in ("local", ""):
            raise InvalidSpec(f"volume driver {spec.driver!r} is not supported",
                              hint="hoist has the local driver only")
        if spec.driver_opts:
            raise InvalidSpec(f"volume {spec.name}: driver options {sorted(spec.driver_opts)} are not supported",
                              hint="the local driver here takes no options (no NFS/tmpfs-backed volumes yet)")
        name = spec.name or os.urandom(32).hex()  # secrets.token_hex, without importing random
        if not VOLUME_NAME.match(name):
            raise InvalidSpec(f"invalid volume name {name!r}",
                              hint="use letters, digits, '_', '.' and '-', starting with a letter or digit")
        labels = dict(spec.labels)
        if not spec.name:
            labels[ANONYMOUS_LABEL] = ""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
            if row is not None:
                return self._info(row), False
            conn.execute("INSERT INTO volumes VALUES (?, ?, ?, ?, ?)",
                         (name, "local", json.dumps(labels), json.dumps(spec.driver_opts), _now()))
            self.data_dir(name).mkdir(parents=True, exist_ok=True)
            row = conn.execute("SELECT * FROM volumes WHERE name = ?", (name,)).fetchone()
        return self._info(row), True

    def inspect(self, name: str) -> VolumeInfo:
        rows = self.db.query("SELECT * FROM volumes WHERE name = ?", (name,))
        if not rows:
            raise NotFound(f"no such volume: {name}", hint="list volumes with 'hoist volume ls'")
        return self._info(rows[0])

    def list(self, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]:
        infos = [self._info(r) for r in self.db.query("SELECT * FROM volumes ORDER BY name")]
        return [v for v in infos if labels_match(v.labels, labels)]

    def remove(self, name: str, users: Sequence[str], force: bool = False) -> None:
        """``users``: names of the containers that mount the volume (any state): in use means Conflict."""
        self.inspect(name)
        if users:
            raise Conflict(f"volume {name} is in use by container(s) {', '.join(users)}",
                           hint="remove those containers first (hoist container rm)")
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM volumes WHERE name = ?", (name,))
        import shutil
        shutil.rmtree(self.dir / name, ignore_errors=True)
