"""The launch plan: everything a supervisor and a container init need, resolved by the engine at create time.

It is plain JSON in ``containers/<id>/plan.json`` so that the supervisor needs neither the image store nor
spec parsing (a lean process), and a restart re-uses exactly what was resolved before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from runtime.containers.files import read_bytes
from runtime.plain import as_plain

PLAN_FILE = "plan.json"


@dataclass
class MountPlan:
    type: str  # bind, volume, tmpfs
    target: str
    source: str = ""  # host path (volumes already resolved to their directory)
    read_only: bool = False
    propagation: str = ""
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    copy_up: bool = False  # volume first used: copy the image's content at target into it


@dataclass
class HealthPlan:
    test: list[str]
    interval: float = 30.0
    timeout: float = 30.0
    start_period: float = 0.0
    start_interval: float = 5.0
    retries: int = 3


@dataclass
class LaunchPlan:
    id: str
    name: str
    root: str
    container_dir: str
    lower_dirs: list[str]  # lowest first
    args: list[str]
    env: list[str]
    cwd: str = "/"
    user: str = ""
    group_add: list[str] = field(default_factory=list)
    hostname: str = ""
    domainname: str = ""
    mounts: list[MountPlan] = field(default_factory=list)
    etc_files: dict[str, str] = field(default_factory=dict)  # container path -> host file
    read_only: bool = False
    capabilities: list[str] = field(default_factory=list)
    no_new_privs: bool = False
    privileged: bool = False
    ulimits: list[tuple[str, int, int]] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    oom_score_adj: int | None = None
    init: bool = False
    shm_size: int = 64 * 1024 * 1024
    network: str = "none"  # "none", "host", or a netns path to join
    dns_resolver: bool = False  # serve 127.0.0.11 in that netns (a bridge container's own netns only)
    pid_ns: str = ""  # "" private, "host", or /proc/<pid>/ns/pid of another container
    ipc_ns: str = ""  # same for ipc
    uts_host: bool = False  # keep the host's UTS namespace (uts: host): no hostname of its own
    cgroupns_host: bool = False  # keep the host's cgroup namespace (cgroup: host)
    cgroup_parent: str = ""  # the user's parent cgroup (relative to each hierarchy); "" is the root's own
    limits: dict[str, object] = field(default_factory=dict)  # cgroups.Limits fields
    tty: bool = False
    console_size: list[int] | None = None  # [rows, columns] of the pty at start (the user's window)
    stdin_open: bool = False
    stdin_once: bool = False  # ContainerSpec.stdin_once
    stop_signal: int = 15
    stop_grace_period: float = 10.0
    restart: str = "no"
    restart_max_retries: int = 0
    healthcheck: HealthPlan | None = None
    log_max_size: int | None = None
    log_max_files: int = 1
    # host devices given to the container: {"path", "type" (c/b), "major", "minor", "mode", "uid", "gid"}
    devices: list[dict[str, object]] = field(default_factory=list)
    # overlay's lowerdir= value (top first) as short links relative to lowerdir_base: the mount options must
    # fit in one page, so full layer paths would cap an image at ~38 layers (empty: join lower_dirs).
    lowerdir: str = ""
    lowerdir_base: str = ""

    @property
    def upper_dir(self) -> str:
        return os.path.join(self.container_dir, "upper")

    @property
    def work_dir(self) -> str:
        return os.path.join(self.container_dir, "work")

    @property
    def merged_dir(self) -> str:
        return os.path.join(self.container_dir, "merged")

    def save(self) -> None:
        path = Path(self.container_dir) / PLAN_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(as_plain(self)))
        os.replace(tmp, path)

    @classmethod
    def load(cls, container_dir: str | Path) -> LaunchPlan:
        return cls.from_json(read_bytes(os.path.join(container_dir, PLAN_FILE)))

    @classmethod
    def from_json(cls, data: bytes) -> LaunchPlan:
        raw = json.loads(data)
        raw["mounts"] = [MountPlan(**m) for m in raw.get("mounts", [])]
        raw["ulimits"] = [tuple(u) for u in raw.get("ulimits", [])]
        if raw.get("healthcheck"):
            raw["healthcheck"] = HealthPlan(**raw["healthcheck"])
        return cls(**raw)
