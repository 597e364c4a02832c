"""A container's cgroups on cgroup v2 (unified) or v1 (one hierarchy per controller, as on hybrid hosts).

Layout: ``<hierarchy>/<naming.cgroup_parent(root)>/<container id>`` in every hierarchy used, so the leak
checker attributes them. On hybrid hosts (v1 controllers, a cgroup2 mount without them) limits go through v1.
Stdlib only: supervisors use this module.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from runtime import naming

CGROUP_FS = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio")
CFS_PERIOD_US = 100_000
# Docker's default device cgroup rules (v1): mknod anything, use only the harmless nodes.
DEFAULT_DEVICE_RULES = ("c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
                        "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm")


class CgroupError(OSError):
    """A limit the kernel refused; the message names the file."""


@dataclass(frozen=True)
class Limits:
    """Resources in kernel terms (bytes, microseconds); None leaves the kernel default."""

    memory: int | None = None
    memory_reservation: int | None = None
    memory_swap: int | None = None  # memory+swap; -1 unlimited
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None
    privileged: bool = False
    device_rules: tuple[str, ...] = ()  # extra "c 10:200 rwm" rules for the devices the spec passes in


def unified_mount() -> Path | None:
    """The cgroup2 mount that carries controllers: /sys/fs/cgroup on v2 hosts; None on v1/hybrid hosts."""
    if (CGROUP_FS / "cgroup.controllers").exists():
        return CGROUP_FS
    return None


def _write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        raise CgroupError(exc.errno or errno.EINVAL, f"cannot write {value!r} to {path}: {exc.strerror}") \
            from None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares to v2 cpu.weight (the linear mapping runc used before the log fit; 1024 -> 39)."""
    if shares <= 0:
        return 100
    return max(1, min(10000, 1 + ((shares - 2) * 9999) // 262142))


class ContainerCgroups:
    def __init__(self, root: Path, container_id: str) -> None:
        self.relative = f"{naming.cgroup_parent(root)}/{container_id}"
        self.parent_relative = naming.cgroup_parent(root)
        self.v2 = unified_mount()

    # ------------------------------------------------------------------------------------------- layout

    def dirs(self) -> dict[str, Path]:
        """Controller name (or 'unified') -> this container's directory."""
        if self.v2 is not None:
            return {"unified": self.v2 / self.relative}
        return {c: CGROUP_FS / c / self.relative for c in V1_CONTROLLERS if (CGROUP_FS / c).is_dir()}

    def _dir(self, controller: str) -> Path | None:
        dirs = self.dirs()
        return dirs.get("unified") or dirs.get(controller)

    # --------------------------------------------------------------------------------------- life cycle

    def create(self, limits: Limits) -> None:
        if self.v2 is not None:
            self._create_v2(limits)
        else:
            self._create_v1(limits)

    def _create_v1(self, limits: Limits) -> None:
        for controller, path in self.dirs().items():
            for _attempt in range(5):
                # The parent may vanish under us: another container's removal prunes it when empty.
                try:
                    path.parent.mkdir(exist_ok=True)
                    if controller == "cpuset":
                        self._inherit_cpuset(path.parent)
                    path.mkdir(exist_ok=True)
                    break
                except (FileNotFoundError, CgroupError):
                    continue
            if controller == "cpuset":
                self._inherit_cpuset(path)
        mem = self._dir("memory")
        if mem is not None:
            if limits.memory is not None:
                _write(mem / "memory.limit_in_bytes", str(limits.memory))
                swap = limits.memory_swap
                if swap is None:
                    swap = limits.memory * 2  # Docker: swap defaults to as much again as the memory limit
                if (mem / "memory.memsw.limit_in_bytes").exists():
                    _write(mem / "memory.memsw.limit_in_bytes", str(swap))
            if limits.memory_reservation is not None:
                _write(mem / "memory.soft_limit_in_bytes", str(limits.memory_reservation))
        cpu = self._dir("cpu")
        if cpu is not None:
            quota, period = self._quota(limits)
            if period is not None:
                _write(cpu / "cpu.cfs_period_us", str(period))
            if quota is not None:
                _write(cpu / "cpu.cfs_quota_us", str(quota))
            if limits.cpu_shares is not None:
                _write(cpu / "cpu.shares", str(limits.cpu_shares))
        cpuset = self._dir("cpuset")
        if cpuset is not None:
            if limits.cpuset_cpus:
                _write(cpuset / "cpuset.cpus", limits.cpuset_cpus)
            if limits.cpuset_mems:
                _write(cpuset / "cpuset.mems", limits.cpuset_mems)
        pids = self._dir("pids")
        if pids is not None and limits.pids_limit is not None and limits.pids_limit > 0:
            _write(pids / "pids.max", str(limits.pids_limit))
        devices = self._dir("devices")
        if devices is not None and not limits.privileged:
            _write(devices / "devices.deny", "a")
            for rule in DEFAULT_DEVICE_RULES + tuple(limits.device_rules):
                _write(devices / "devices.allow", rule)

    @staticmethod
    def _inherit_cpuset(path: Path) -> None:
        # A new v1 cpuset cgroup starts empty and refuses tasks until cpus and mems are set.
        for name in ("cpuset.cpus", "cpuset.mems"):
            if not _read(path / name).strip():
                _write(path / name, _read(path.parent / name).strip())

    @staticmethod
    def _quota(limits: Limits) -> tuple[int | None, int | None]:
        if limits.cpus:
            return int(limits.cpus * CFS_PERIOD_US), CFS_PERIOD_US
        return limits.cpu_quota, limits.cpu_period

    def _create_v2(self, limits: Limits) -> None:
        assert self.v2 is not None
        parent = self.v2 / self.parent_relative
        parent.mkdir(exist_ok=True)
        available = _read(self.v2 / "cgroup.controllers").split()
        wanted = [c for c in ("cpu", "cpuset", "memory", "pids") if c in available]
        for level in (self.v2, parent):
            for controller in wanted:
                try:
                    _write(level / "cgroup.subtree_control", f"+{controller}")
                except CgroupError:
                    pass  # not delegated here: limits on it fail below with a clear message
        path = self.v2 / self.relative
        path.mkdir(exist_ok=True)
        if limits.memory is not None:
            _write(path / "memory.max", str(limits.memory))
            if limits.memory_swap is not None and (path / "memory.swap.max").exists():
                swap = "max" if limits.memory_swap < 0 else str(max(0, limits.memory_swap - limits.memory))
                _write(path / "memory.swap.max", swap)
        if limits.memory_reservation is not None:
            _write(path / "memory.low", str(limits.memory_reservation))
        quota, period = self._quota(limits)
        if quota is not None or period is not None:
            _write(path / "cpu.max", f"{quota if quota and quota > 0 else 'max'} {period or CFS_PERIOD_US}")
        if limits.cpu_shares is not None:
            _write(path / "cpu.weight", str(shares_to_weight(limits.cpu_shares)))
        if limits.cpuset_cpus:
            _write(path / "cpuset.cpus", limits.cpuset_cpus)
        if limits.cpuset_mems:
            _write(path / "cpuset.mems", limits.cpuset_mems)
        if limits.pids_limit is not None and limits.pids_limit > 0:
            _write(path / "pids.max", str(limits.pids_limit))

    def attach(self, pid: int) -> None:
        for path in self.dirs().values():
            _write(path / "cgroup.procs", str(pid))

    def exists(self) -> bool:
        return any(p.is_dir() for p in self.dirs().values())

    def pids(self) -> list[int]:
        for path in self.dirs().values():
            text = _read(path / "cgroup.procs")
            if text:
                return [int(x) for x in text.split()]
        return []

    # ----------------------------------------------------------------------------------- freeze, events

    def freeze(self) -> None:
        self._set_frozen(True)

    def thaw(self) -> None:
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        if self.v2 is not None:
            _write(self.v2 / self.relative / "cgroup.freeze", "1" if frozen else "0")
            return
        path = self._dir("freezer")
        if path is None:
            raise CgroupError(errno.ENOTSUP, "no freezer cgroup on this host")
        _write(path / "freezer.state", "FROZEN" if frozen else "THAWED")
        deadline = time.monotonic() + 5
        want = "FROZEN" if frozen else "THAWED"
        while _read(path / "freezer.state").strip() != want and time.monotonic() < deadline:
            time.sleep(0.005)

    def is_frozen(self) -> bool:
        if self.v2 is not None:
            return _read(self.v2 / self.relative / "cgroup.freeze").strip() == "1"
        path = self._dir("freezer")
        return path is not None and _read(path / "freezer.state").strip() in ("FROZEN", "FREEZING")

    def oom_kills(self) -> int:
        """How many processes the kernel OOM-killed in this cgroup."""
        if self.v2 is not None:
            source = self.v2 / self.relative / "memory.events"
        else:
            mem = self._dir("memory")
            if mem is None:
                return 0
            source = mem / "memory.oom_control"
        for line in _read(source).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    # ------------------------------------------------------------------------------------------ removal

    def kill_all(self) -> None:
        """SIGKILL whatever is left (a frozen cgroup is thawed so the kill is delivered)."""
        try:
            if self.is_frozen():
                self.thaw()
        except OSError:
            pass
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self, timeout: float = 5.0) -> None:
        """Kill leftovers and remove every directory; tolerates directories already gone."""
        deadline = time.monotonic() + timeout
        for path in self.dirs().values():
            while path.is_dir():
                try:
                    path.rmdir()
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    self.kill_all()
                    time.sleep(0.01)
            try:
                path.parent.rmdir()  # the root's parent cgroup goes with its last container
            except OSError:
                pass

