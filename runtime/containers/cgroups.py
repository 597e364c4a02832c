"""A container's cgroups on cgroup v2 (unified) or v1 (one hierarchy per controller, as on hybrid hosts).

Layout: ``<hierarchy>/<naming.cgroup_parent(root)>/<container id>`` in every hierarchy used, so the leak
checker attributes them. On hybrid hosts (v1 controllers, a cgroup2 mount without them) limits go through v1.
Stdlib only: supervisors use this module.
"""

from __future__ import annotations

import _thread
import errno
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runtime import naming
from runtime.containers import cgroup_parents
from runtime.containers.files import read_bytes

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
    mem_swappiness: int | None = None  # v1 only: cgroup v2 has no per-cgroup swappiness (Docker ignores it)
    oom_kill_disable: bool = False  # v1 only, as Docker (v2 has no such switch)
    blkio_weight: int | None = None
    # "MAJOR:MINOR VALUE" lines, as the v1 files take them
    blkio_weight_device: tuple[str, ...] = ()
    device_read_bps: tuple[str, ...] = ()
    device_write_bps: tuple[str, ...] = ()
    device_read_iops: tuple[str, ...] = ()
    device_write_iops: tuple[str, ...] = ()
    privileged: bool = False
    device_rules: tuple[str, ...] = ()  # extra "c 10:200 rwm" rules for the devices the spec passes in


def unified_mount() -> Path | None:
    """The cgroup2 mount that carries controllers: /sys/fs/cgroup on v2 hosts; None on v1/hybrid hosts.

    Looked up once per process, like ``_v1_hierarchies``: a host's cgroup layout is set at boot."""
    unified = _unified.get(CGROUP_FS)
    if unified is None:
        unified = _unified[CGROUP_FS] = (CGROUP_FS / "cgroup.controllers").exists()
    return CGROUP_FS if unified else None


_unified: dict[Path, bool] = {}


_v1_present: dict[Path, tuple[str, ...]] = {}


def _v1_hierarchies() -> tuple[str, ...]:
    """The v1 controllers mounted under CGROUP_FS, looked up once per process (8 stats): the launcher does
    it while it rehearses, so that no supervisor it forks pays them again (~0.2 ms there). A hierarchy
    mounted later is seen by launchers started later."""
    found = _v1_present.get(CGROUP_FS)
    if found is None:
        found = _v1_present[CGROUP_FS] = tuple(c for c in V1_CONTROLLERS if (CGROUP_FS / c).is_dir())
    return found


def _write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        raise CgroupError(exc.errno or errno.EINVAL, f"cannot write {value!r} to {path}: {exc.strerror}") \
            from None


def _apply_device_filter(path: Path, rules: tuple[str, ...]) -> None:
    """cgroup v2's form of v1's devices.deny "a" + devices.allow: a BPF program on the cgroup (see devicefilter).

    Imported here, not at the top: only v2 hosts pay for the ctypes set-up, and hybrid hosts go through v1."""
    from runtime.containers import devicefilter

    try:
        devicefilter.apply_device_filter(str(path), rules)
    except devicefilter.DeviceRuleError as exc:
        raise CgroupError(errno.EINVAL, f"{path}: {exc}") from None
    except OSError as exc:
        raise CgroupError(exc.errno or errno.EINVAL, f"{path}: {exc.strerror or exc}") from None


def _read(path: Path) -> str:
    try:
        return read_bytes(str(path)).decode()  # no text-mode file: see read_bytes
    except (OSError, UnicodeDecodeError):
        return ""


def _own_cgroup_procs(v2: Path | None, dirs: dict[str, Path]) -> Path | None:
    """The cgroup.procs file of the cgroup this process is in, in the first hierarchy ``dirs`` uses."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if v2 is not None:
            if controllers == "":
                return v2 / path.lstrip("/") / "cgroup.procs"
        else:
            for controller in controllers.split(","):
                if controller in dirs:
                    return CGROUP_FS / controller / path.lstrip("/") / "cgroup.procs"
    return None


class Priming:
    """The thread of ``ContainerCgroups.prime_attach``. A bare ``_thread`` (no start-up handshake, unlike
    ``threading.Thread``): the caller goes straight on, and the thread runs at the caller's next system call."""

    def __init__(self, procs: Path, first: Callable[[], None] | None = None) -> None:
        self._done = _thread.allocate_lock()
        self._done.acquire()
        _thread.start_new_thread(self._run, (procs, first))

    def _run(self, procs: Path, first: Callable[[], None] | None) -> None:
        try:
            if first is not None:
                try:
                    first()
                except OSError:
                    pass
            fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
        except OSError:
            pass
        finally:
            self._done.release()

    def join(self) -> None:
        """Wait for the thread's write (one grace period at most) so that no thread outlives the start."""
        self._done.acquire()
        self._done.release()


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares to v2 cpu.weight (the linear mapping runc used before the log fit; 1024 -> 39)."""
    if shares <= 0:
        return 100
    return max(1, min(10000, 1 + ((shares - 2) * 9999) // 262142))


def user_parent_path(parent: str | None) -> str:
    """A user's cgroup_parent as a path relative to each hierarchy ("" when none): a leading "/" is the
    hierarchy's root, as with Docker's cgroupfs driver. ".." could leave the hierarchy and "cgroup.*" names
    are the kernel's files: ValueError."""
    if not parent:
        return ""
    parts = [p for p in parent.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or any(p.startswith("cgroup.") for p in parts):
        raise ValueError(f"invalid cgroup_parent {parent!r}")
    return "/".join(parts)


class ContainerCgroups:
    """``parent``: the user's cgroup_parent, relative to each hierarchy (builder.cgroup_parent_path); ""
    puts the container under its root's own parent cgroup."""

    def __init__(self, root: Path, container_id: str, parent: str = "") -> None:
        self.user_parent = bool(parent)
        self.parent_relative = parent or naming.cgroup_parent(root)
        self.relative = f"{self.parent_relative}/{container_id}"
        self.v2 = unified_mount()
        self._dirs: dict[str, Path] | None = None

    # ------------------------------------------------------------------------------------------- layout

    def dirs(self) -> dict[str, Path]:
        """Controller name (or 'unified') -> this container's directory."""
        if self._dirs is None:
            # Built once per instance: a start asks a dozen times.
            if self.v2 is not None:
                self._dirs = {"unified": self.v2 / self.relative}
            else:
                self._dirs = {c: CGROUP_FS / c / self.relative for c in _v1_hierarchies()}
        return dict(self._dirs)

    def _dir(self, controller: str) -> Path | None:
        dirs = self.dirs()
        return dirs.get("unified") or dirs.get(controller)

    # --------------------------------------------------------------------------------------- life cycle

    def create(self, limits: Limits) -> None:
        self.make_dirs()
        self.set_limits(limits)

    def make_dirs(self) -> None:
        """The directories (and on v2 the controllers delegated to them): the steps that take cgroup_mutex."""
        if self.v2 is not None:
            self._make_dirs_v2()
        else:
            self._make_dirs_v1()

    def set_limits(self, limits: Limits) -> None:
        if self.v2 is not None:
            self._set_limits_v2(limits)
        else:
            self._set_limits_v1(limits)

    def _make_dirs_v1(self) -> None:
        for controller, path in self.dirs().items():
            for _attempt in range(5):
                # The parent may vanish under us: another container's removal prunes it when empty.
                try:
                    if self.user_parent:
                        self._make_user_parent(CGROUP_FS / controller, controller == "cpuset")
                    else:
                        path.parent.mkdir(exist_ok=True)
                        if controller == "cpuset":
                            self._inherit_cpuset(path.parent)
                    path.mkdir(exist_ok=True)
                    break
                except (FileNotFoundError, CgroupError):
                    continue
            if controller == "cpuset":
                self._inherit_cpuset(path)

    def _make_user_parent(self, hierarchy: Path, cpuset: bool) -> list[Path]:
        """Each missing level of a user's cgroup_parent, noted as hoist's (``cgroup_parents``) so that the
        removal of the last container in it removes it again; levels that existed stay the user's."""
        levels = cgroup_parents.make_levels(hierarchy, self.parent_relative)
        if cpuset:
            for level in levels:
                self._inherit_cpuset(level)
        return levels

    def _set_limits_v1(self, limits: Limits) -> None:
        mem = self._dir("memory")
        if mem is not None:
            if limits.memory is not None:
                _write(mem / "memory.limit_in_bytes", str(limits.memory))
                swap = limits.memory_swap
                if swap is None:
                    swap = limits.memory * 2  # Docker: swap defaults to as much again as the memory limit
                if (mem / "memory.memsw.limit_in_bytes").exists():
                    _write(mem / "memory.memsw.limit_in_bytes", str(swap))
            if limits.mem_swappiness is not None:
                _write(mem / "memory.swappiness", str(limits.mem_swappiness))
            if limits.oom_kill_disable:
                _write(mem / "memory.oom_control", "1")
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
        blkio = self._dir("blkio")
        if blkio is not None:
            self._set_block_io_v1(blkio, limits)
        devices = self._dir("devices")
        if devices is not None and not limits.privileged:
            _write(devices / "devices.deny", "a")
            for rule in DEFAULT_DEVICE_RULES + tuple(limits.device_rules):
                _write(devices / "devices.allow", rule)

    @staticmethod
    def _set_block_io_v1(blkio: Path, limits: Limits) -> None:
        # The proportional weight exists only with a scheduler that has one (CFQ's blkio.weight, BFQ's
        # blkio.bfq.weight); without either Docker discards the weight, and so does this.
        weight_files = [blkio / name for name in ("blkio.weight", "blkio.bfq.weight") if (blkio / name).exists()]
        if weight_files:
            if limits.blkio_weight is not None:
                _write(weight_files[0], str(limits.blkio_weight))
            for line in limits.blkio_weight_device:
                _write(weight_files[0].with_name(weight_files[0].name + "_device"), line)
        for name, lines in (("read_bps_device", limits.device_read_bps), ("write_bps_device", limits.device_write_bps),
                            ("read_iops_device", limits.device_read_iops),
                            ("write_iops_device", limits.device_write_iops)):
            for line in lines:
                _write(blkio / f"blkio.throttle.{name}", line)

    @staticmethod
    def _set_block_io_v2(path: Path, limits: Limits) -> None:
        weight_file = next((path / n for n in ("io.bfq.weight", "io.weight") if (path / n).exists()), None)
        if weight_file is not None:
            # v1's 10-1000 onto v2's 1-10000, as runc maps it
            if limits.blkio_weight is not None:
                _write(weight_file, f"default {1 + (limits.blkio_weight - 10) * 9999 // 990}")
            for line in limits.blkio_weight_device:
                device, weight = line.split()
                _write(weight_file, f"{device} {1 + (int(weight) - 10) * 9999 // 990}")
        io_max: dict[str, list[str]] = {}
        for key, lines in (("rbps", limits.device_read_bps), ("wbps", limits.device_write_bps),
                           ("riops", limits.device_read_iops), ("wiops", limits.device_write_iops)):
            for line in lines:
                device, value = line.split()
                io_max.setdefault(device, []).append(f"{key}={value}")
        for device, settings in io_max.items():
            _write(path / "io.max", f"{device} {' '.join(settings)}")

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

    def _make_dirs_v2(self) -> None:
        assert self.v2 is not None
        parent = self.v2 / self.parent_relative
        levels = [self.v2]
        if self.user_parent:
            levels += self._make_user_parent(self.v2, False)
        else:
            parent.mkdir(exist_ok=True)
            levels.append(parent)
        available = _read(self.v2 / "cgroup.controllers").split()
        wanted = [c for c in ("cpu", "cpuset", "io", "memory", "pids") if c in available]
        for level in levels:
            enabled = _read(level / "cgroup.subtree_control").split()
            for controller in wanted:
                if controller in enabled:
                    # Writing it again would change nothing, yet every write to subtree_control takes the
                    # global threadgroup lock, as an attach does: an RCU grace period (~10 ms) on each start.
                    continue
                try:
                    _write(level / "cgroup.subtree_control", f"+{controller}")
                except CgroupError:
                    pass  # not delegated here: limits on it fail below with a clear message
        (self.v2 / self.relative).mkdir(exist_ok=True)

    def _set_limits_v2(self, limits: Limits) -> None:
        assert self.v2 is not None
        path = self.v2 / self.relative
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
        self._set_block_io_v2(path, limits)
        if not limits.privileged:
            _apply_device_filter(path, DEFAULT_DEVICE_RULES + tuple(limits.device_rules))

    def attach(self, pid: int) -> None:
        for path in self.dirs().values():
            _write(path / "cgroup.procs", str(pid))

    def prime_attach(self, make_dirs_first: bool = False) -> Priming | None:
        """Start paying, in the background, the RCU grace period that the next ``attach`` would wait for.

        Every write to a cgroup.procs file takes the kernel's global cgroup_threadgroup_rwsem for writing;
        taking it when nobody has lately costs a full RCU grace period (rcu_sync_enter → synchronize_rcu,
        ~10 ms here), and writes within about one grace period of the last one cost ~0.03 ms. A thread
        writes the calling process's own pid into the cgroup it is already in (the kernel takes the lock, then
        finds nothing to move: a no-op), so the grace period runs while the caller forks the container's
        processes. Best effort: any failure only leaves ``attach`` as slow as before. The thread holds
        cgroup_mutex while it waits, which mkdir needs too: call this after ``make_dirs``, or let the thread
        make them first (``make_dirs_first``; failures there are left for the owner's own ``make_dirs``).
        """
        procs = _own_cgroup_procs(self.v2, self.dirs())
        if procs is None:
            return None
        return Priming(procs, self.make_dirs if make_dirs_first else None)

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
            if self.user_parent:
                cgroup_parents.prune(path.parent)
                continue
            try:
                path.parent.rmdir()  # the root's parent cgroup goes with its last container
            except OSError:
                pass

