"""The supervisor's record of a container's run: ``containers/<id>/status.json``, replaced atomically.

The supervisor is its only writer while it lives; the engine reads it, checks it against the kernel
(pid + start time, boot id) and rewrites it when it finds the supervisor gone. Stdlib only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATUS_FILE = "status.json"
STOP_MARKER = "stop-requested"


@dataclass
class RunStatus:
    status: str = "created"  # created, starting, running, restarting, exited, dead
    boot_id: str = ""
    supervisor_pid: int = 0
    supervisor_start: int = 0  # /proc stat start time: tells the pid apart from a reused one
    pid: int = 0
    pid_start: int = 0
    started_at: str = ""
    finished_at: str = ""
    exit_code: int = 0
    oom_killed: bool = False
    restart_count: int = 0
    error: str = ""
    health: dict[str, object] | None = None
    generation: int = 0  # bumped by every start, so a stale supervisor never overwrites a newer run

    def save(self, container_dir: str | Path) -> None:
        path = Path(container_dir) / STATUS_FILE
        tmp = path.with_name(f".{STATUS_FILE}.{os.getpid()}")
        with open(tmp, "w") as f:
            json.dump(asdict(self), f)
        os.replace(tmp, path)

    @classmethod
    def load(cls, container_dir: str | Path) -> RunStatus:
        try:
            raw = json.loads((Path(container_dir) / STATUS_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return cls()
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def mark_stop_requested(container_dir: str | Path) -> None:
    """Written by stop/kill before signalling, so the supervisor knows a manual stop (no restart)."""
    (Path(container_dir) / STOP_MARKER).touch()


def clear_stop_requested(container_dir: str | Path) -> None:
    try:
        (Path(container_dir) / STOP_MARKER).unlink()
    except FileNotFoundError:
        pass


def stop_requested(container_dir: str | Path) -> bool:
    return (Path(container_dir) / STOP_MARKER).exists()
