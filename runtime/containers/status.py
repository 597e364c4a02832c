"""The supervisor's record of a container's run: ``containers/<id>/status.json``, replaced atomically.

The supervisor is its only writer while it lives; the engine reads it, checks it against the kernel
(pid + start time, boot id) and rewrites it when it finds the supervisor gone. Stdlib only.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from runtime.containers.files import read_bytes

STATUS_FILE = "status.json"
STOP_MARKER = "stop-requested"
OWNER_LOCK = "supervisor.lock"


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
        # Three saves sit on every start's path: one encode of the plain fields (no asdict deep copy: they
        # are str/int/bool and the health dict, which json reads as it is) and one write.
        data = json.dumps({name: getattr(self, name) for name in _FIELDS}).encode()
        tmp = os.path.join(container_dir, f".{STATUS_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(container_dir, STATUS_FILE))

    @classmethod
    def load(cls, container_dir: str | Path) -> RunStatus:
        try:
            return cls.from_json(read_bytes(os.path.join(container_dir, STATUS_FILE)))
        except (FileNotFoundError, ValueError):
            return cls()

    @classmethod
    def from_json(cls, data: bytes) -> RunStatus:
        raw = json.loads(data)
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)


_FIELDS = tuple(RunStatus.__dataclass_fields__)


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


def try_own(container_dir: str | Path) -> int | None:
    """Take the container's owner lock (an flock), or None if someone holds it.

    A supervisor holds it for its whole life, its cleanup (cgroup removal, which SIGKILLs what is left in
    the cgroup) included; the kernel drops it when that process is gone. So a new run never shares the
    cgroup with a previous run's cleanup, and whoever settles a dead supervisor's leftovers (reconcile)
    takes it too. The fd is close-on-exec and must be closed in forked children that live on.
    """
    fd = os.open(Path(container_dir) / OWNER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def own(container_dir: str | Path, timeout: float) -> int | None:
    """``try_own`` until ``timeout`` (a bounded poll: the previous owner is finishing its cleanup)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        fd = try_own(container_dir)
        if fd is not None or time.monotonic() > deadline:
            return fd
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
