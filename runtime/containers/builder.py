"""Turn a ContainerSpec and its image into a LaunchPlan, validating everything the kernel would refuse later."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any

from runtime.api import ContainerSpec, ImageInfo, VolumeSpec
from runtime.containers.cgroups import user_parent_path
from runtime.containers.defaults import (
    DEFAULT_SHM_SIZE,
    ULIMIT_NAMES,
    combine_command,
    container_hostname,
    effective_capabilities,
    is_namespaced_sysctl,
    merge_env,
    signal_number,
)
from runtime.containers.plan import HealthPlan, LaunchPlan, MountPlan
from runtime.errors import InvalidSpec, NotFound


def build_plan(engine: Any, container_id: str, name: str, spec: ContainerSpec, image: ImageInfo, cdir: Path,
               created_volumes: list[str]) -> tuple[LaunchPlan, list[str]]:
    cfg = image.config
    args = combine_command(cfg.entrypoint, cfg.cmd, spec.entrypoint, spec.command)
    if not args:
        raise InvalidSpec(f"container {name}: no command specified",
                          hint="the image has no CMD or ENTRYPOINT: give a command")
    _check_namespace_modes(name, spec)
    hostname = container_hostname(spec.hostname, container_id, spec.network_mode, spec.uts_mode)
    try:
        caps = effective_capabilities(spec.cap_add, spec.cap_drop, spec.privileged)
    except ValueError as exc:
        raise InvalidSpec(f"container {name}: {exc}", hint="capability names are like NET_ADMIN or SYS_PTRACE") \
            from None
    try:
        stop_signal = signal_number(spec.stop_signal or cfg.stop_signal)
    except ValueError as exc:
        raise InvalidSpec(f"container {name}: stop_signal: {exc}") from None
    plan = LaunchPlan(
        id=container_id, name=name, root=str(engine.root), container_dir=str(cdir),
        lower_dirs=[], lowerdir=_short_lowerdir(engine.images, image.id), lowerdir_base=str(engine.images.dir),
        args=args, env=merge_env(cfg.env, spec.env, hostname, tty=spec.tty),
        cwd=spec.working_dir or cfg.working_dir or "/",
        user=spec.user if spec.user is not None else cfg.user, group_add=list(spec.group_add),
        hostname=hostname, domainname=spec.domainname or "",
        read_only=spec.read_only, capabilities=caps, privileged=spec.privileged,
        no_new_privs=any(o.split(":")[0].split("=")[0] == "no-new-privileges" and
                         o.split(":", 1)[-1].split("=", 1)[-1] not in ("false",)
                         for o in spec.security_opt),
        ulimits=_ulimits(name, spec), sysctls=_sysctls(name, spec), oom_score_adj=spec.oom_score_adj,
        init=spec.init, shm_size=spec.shm_size or DEFAULT_SHM_SIZE,
        tty=spec.tty, console_size=list(spec.console_size) if spec.tty and spec.console_size else None,
        stdin_open=spec.stdin_open, stdin_once=spec.stdin_open and spec.stdin_once, stop_signal=stop_signal,
        stop_grace_period=spec.stop_grace_period,
        restart=spec.restart.name, restart_max_retries=spec.restart.max_retries,
        healthcheck=_health(spec, image), log_max_size=spec.log_max_size, log_max_files=spec.log_max_files,
        limits=_limits(name, spec), devices=_devices(name, spec))
    plan.lower_dirs = [os.path.join(plan.lowerdir_base, d) for d in reversed(plan.lowerdir.split(":"))]
    if not os.path.isabs(plan.cwd):
        raise InvalidSpec(f"container {name}: working directory {plan.cwd!r} is not absolute")
    plan.network = _network(engine, name, spec)
    plan.pid_ns = _shared_ns(engine, name, spec.pid_mode, "pid")
    plan.ipc_ns = _shared_ns(engine, name, spec.ipc_mode if spec.ipc_mode not in ("private", "shareable") else None,
                             "ipc")
    plan.uts_host = spec.uts_mode == "host"
    plan.cgroupns_host = spec.cgroupns_mode == "host"
    plan.cgroup_parent = _cgroup_parent(name, spec.cgroup_parent)
    anonymous = _mounts(engine, name, spec, image, plan, created_volumes)
    if spec.network_mode != "bridge":
        plan.etc_files = _etc_files(cdir, hostname, spec)
    return plan, anonymous


def _check_namespace_modes(name: str, spec: ContainerSpec) -> None:
    if spec.uts_mode not in (None, "", "host"):
        raise InvalidSpec(f"container {name}: invalid UTS mode {spec.uts_mode!r}",
                          hint='the only UTS mode is "host" (leave it unset for a namespace of its own)')
    if spec.uts_mode == "host" and spec.hostname:
        # Docker's own refusal: a hostname is set in the container's UTS namespace, and there is none.
        raise InvalidSpec(f"container {name}: conflicting options: hostname and the UTS mode",
                          hint="drop either hostname or uts: host")
    if spec.cgroupns_mode not in (None, "", "host", "private"):
        raise InvalidSpec(f"container {name}: invalid cgroup namespace mode {spec.cgroupns_mode!r}",
                          hint='use "host" or "private"')


def _cgroup_parent(name: str, parent: str | None) -> str:
    try:
        return user_parent_path(parent)
    except ValueError as exc:
        raise InvalidSpec(f"container {name}: {exc}",
                          hint='give a cgroup path such as "my-apps" or "/my-apps/web"') from None


def _limits(name: str, spec: ContainerSpec) -> dict[str, object]:
    r = spec.resources
    if r.memory is not None and r.memory < 6 * 1024 * 1024:
        raise InvalidSpec(f"container {name}: minimum memory limit allowed is 6MB")
    if r.mem_swappiness is not None and r.mem_swappiness != -1 and not 0 <= r.mem_swappiness <= 100:
        raise InvalidSpec(f"container {name}: invalid mem_swappiness {r.mem_swappiness}: the range is 0-100")
    if r.cpus is not None and r.cpus <= 0:
        raise InvalidSpec(f"container {name}: cpus must be positive")
    if r.memory_swap is not None and r.memory is not None and 0 <= r.memory_swap < r.memory:
        raise InvalidSpec(f"container {name}: memory_swap must be at least the memory limit (or -1)")
    return {"memory": r.memory, "memory_reservation": r.memory_reservation, "memory_swap": r.memory_swap,
            "cpus": r.cpus, "cpu_shares": r.cpu_shares, "cpu_quota": r.cpu_quota, "cpu_period": r.cpu_period,
            "cpuset_cpus": r.cpuset_cpus, "cpuset_mems": r.cpuset_mems, "pids_limit": r.pids_limit,
            "mem_swappiness": r.mem_swappiness, "oom_kill_disable": r.oom_kill_disable,
            **_block_io(name, spec),
            "privileged": spec.privileged,
            "device_rules": [_device_rule(d) for d in _devices(name, spec)] + _device_cgroup_rules(name, spec)}


def _block_io(name: str, spec: ContainerSpec) -> dict[str, object]:
    """``blkio_config``: device paths to the "MAJOR:MINOR VALUE" lines the cgroup files take, checked first."""
    r = spec.resources
    out: dict[str, object] = {}
    if r.blkio_weight is not None:
        _check_weight(name, "weight", r.blkio_weight)
        out["blkio_weight"] = r.blkio_weight
    for key in ("blkio_weight_device", "device_read_bps", "device_write_bps", "device_read_iops",
                "device_write_iops"):
        lines = []
        for path, value in getattr(r, key):
            if key == "blkio_weight_device":
                _check_weight(name, f"weight_device {path}", value)
            elif value < 0:
                raise InvalidSpec(f"container {name}: blkio_config {key} {path}: the rate must not be negative")
            lines.append(f"{_block_device_number(name, key, path)} {value}")
        if lines:
            out[key] = lines
    return out


def _check_weight(name: str, what: str, weight: int) -> None:
    if not 10 <= weight <= 1000:
        raise InvalidSpec(f"container {name}: blkio_config {what}: {weight} is out of range",
                          hint="block I/O weights go from 10 to 1000")


def _block_device_number(name: str, key: str, path: str) -> str:
    import stat

    try:
        st = os.stat(path)
    except OSError as exc:
        raise NotFound(f"container {name}: blkio_config {key}: {path}: {exc.strerror}",
                       hint="give the path of a block device on the host, e.g. /dev/sda") from None
    if not stat.S_ISBLK(st.st_mode):
        raise InvalidSpec(f"container {name}: blkio_config {key}: {path} is not a block device")
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def _device_cgroup_rules(name: str, spec: ContainerSpec) -> list[str]:
    """``device_cgroup_rules``: more devices.allow rules, checked here as the kernel (or the v2 filter) would."""
    if not spec.device_cgroup_rules:
        return []
    from runtime.containers.devicefilter import DeviceRuleError, parse_rule

    for rule in spec.device_cgroup_rules:
        try:
            parse_rule(rule)
        except DeviceRuleError as exc:
            raise InvalidSpec(f"container {name}: device_cgroup_rules: {exc}",
                              hint='write rules as devices.allow takes them, e.g. "c 1:3 mr" or "a 7:* rmw"') \
                from None
    return list(spec.device_cgroup_rules)


def _devices(name: str, spec: ContainerSpec) -> list[dict[str, object]]:
    """``/dev/x[:/dev/y[:rwm]]``: the host node's numbers, recreated in the container's /dev."""
    import stat

    out: list[dict[str, object]] = []
    for entry in spec.devices:
        parts = entry.split(":")
        host = parts[0]
        target = parts[1] if len(parts) > 1 and parts[1].startswith("/") else host
        perms = parts[-1] if len(parts) > 1 and not parts[-1].startswith("/") else "rwm"
        if not set(perms) <= set("rwm") or not perms:
            raise InvalidSpec(f"container {name}: device {entry!r}: permissions must be made of r, w and m")
        try:
            st = os.stat(host)
        except OSError as exc:
            raise NotFound(f"container {name}: device {host}: {exc.strerror}",
                           hint="give a device node that exists on the host") from None
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise InvalidSpec(f"container {name}: {host} is not a device node")
        out.append({"path": target, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                    "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev), "perms": perms,
                    "mode": st.st_mode & 0o7777, "uid": st.st_uid, "gid": st.st_gid})
    return out


def _device_rule(device: dict[str, object]) -> str:
    return f"{device['type']} {device['major']}:{device['minor']} {device['perms']}"


def _ulimits(name: str, spec: ContainerSpec) -> list[tuple[str, int, int]]:
    out = []
    for u in spec.ulimits:
        key = u.name.lower()
        if key not in ULIMIT_NAMES:
            raise InvalidSpec(f"container {name}: unknown ulimit {u.name!r}",
                              hint=f"known: {', '.join(ULIMIT_NAMES)}")
        if u.soft > u.hard >= 0:
            raise InvalidSpec(f"container {name}: ulimit {key}: soft limit {u.soft} is above the hard limit {u.hard}")
        _, host_hard = resource.getrlimit(getattr(resource, f"RLIMIT_{key.upper()}"))
        if host_hard != resource.RLIM_INFINITY and (u.hard < 0 or u.hard > host_hard):
            raise InvalidSpec(
                f"container {name}: ulimit {key} hard limit {u.hard} is above this host's hard limit {host_hard}",
                hint="raising a hard limit needs CAP_SYS_RESOURCE, which this host's root lacks; "
                     f"use at most {host_hard}")
        out.append((key, u.soft, u.hard))
    return out


def _sysctls(name: str, spec: ContainerSpec) -> dict[str, str]:
    for key in spec.sysctls:
        if not is_namespaced_sysctl(key):
            raise InvalidSpec(f"container {name}: sysctl {key!r} is not namespaced and cannot be set per container")
        if key.startswith("net.") and spec.network_mode == "host":
            raise InvalidSpec(f"container {name}: sysctl {key!r} cannot be set with the host network")
    return dict(spec.sysctls)


def _health(spec: ContainerSpec, image: ImageInfo) -> HealthPlan | None:
    hc = spec.healthcheck or image.config.healthcheck
    if hc is None or not hc.test or hc.test[0] == "NONE":
        return None
    if hc.test[0] not in ("CMD", "CMD-SHELL"):
        raise InvalidSpec(f'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE", not {hc.test[0]!r}')
    return HealthPlan(test=list(hc.test), interval=hc.interval, timeout=hc.timeout, start_period=hc.start_period,
                      start_interval=hc.start_interval, retries=hc.retries)


def _target_state(engine: Any, ref: str, what: str, name: str) -> Any:
    try:
        state = engine.container_inspect(ref)
    except NotFound:
        raise InvalidSpec(f"container {name}: {what} container {ref!r} does not exist") from None
    if state.status not in ("running", "paused") or not state.pid:
        raise InvalidSpec(f"container {name}: {what} container {ref!r} is not running",
                          hint=f"start {ref} first")
    return state


def _network(engine: Any, name: str, spec: ContainerSpec) -> str:
    mode = spec.network_mode or "bridge"
    if mode in ("none", "host"):
        return mode
    if mode.startswith("container:"):
        # Preferably the target's persistent netns (the network manager's, filled in by the engine); a
        # target without one must be running so its init's netns can be joined.
        target = mode.split(":", 1)[1]
        try:
            state = engine.container_inspect(target)
        except NotFound:
            raise InvalidSpec(f"container {name}: network container {target!r} does not exist") from None
        return f"/proc/{state.pid}/ns/net" if state.pid else "pending"
    if mode == "bridge" or mode not in ("default",):
        return "pending"  # the engine asks the network manager next
    raise InvalidSpec(f"container {name}: unknown network mode {mode!r}")


def _shared_ns(engine: Any, name: str, mode: str | None, kind: str) -> str:
    if not mode:
        return ""
    if mode == "host":
        return "host"
    if mode.startswith("container:"):
        state = _target_state(engine, mode.split(":", 1)[1], kind, name)
        return f"/proc/{state.pid}/ns/{kind}"
    raise InvalidSpec(f"container {name}: unknown {kind} mode {mode!r}")


def _mounts(engine: Any, name: str, spec: ContainerSpec, image: ImageInfo, plan: LaunchPlan,
            created_volumes: list[str]) -> list[str]:
    anonymous: list[str] = []
    targets = set()
    for m in spec.mounts:
        if not m.target.startswith("/"):
            raise InvalidSpec(f"container {name}: mount target {m.target!r} is not absolute")
        target = os.path.normpath(m.target)
        if target in targets:
            raise InvalidSpec(f"container {name}: duplicate mount point {target}")
        targets.add(target)
        if m.type == "tmpfs":
            plan.mounts.append(MountPlan("tmpfs", target, read_only=m.read_only, tmpfs_size=m.tmpfs_size,
                                         tmpfs_mode=m.tmpfs_mode))
        elif m.type == "bind":
            source = m.source
            if not os.path.isabs(source):
                raise InvalidSpec(f"container {name}: bind source {source!r} is not an absolute path")
            if not os.path.exists(source):
                if not m.create_host_path:
                    raise NotFound(f"container {name}: bind source path does not exist: {source}",
                                   hint="create it, or allow create_host_path")
                os.makedirs(source, exist_ok=True)
            plan.mounts.append(MountPlan("bind", target, source=os.path.realpath(source), read_only=m.read_only,
                                         propagation=m.propagation))
        elif m.type == "volume":
            info, new = engine.volumes.create(VolumeSpec(name=m.source))
            if new:
                created_volumes.append(info.name)
            if not m.source or m.anonymous:
                anonymous.append(info.name)
            source = info.mountpoint
            if m.subpath:
                source = os.path.join(source, m.subpath)
                if not os.path.exists(source):
                    raise NotFound(f"container {name}: volume subpath {m.subpath!r} does not exist in {info.name}")
            plan.mounts.append(MountPlan("volume", target, source=source, read_only=m.read_only,
                                         copy_up=not m.nocopy and not m.subpath))
        else:
            raise InvalidSpec(f"container {name}: unknown mount type {m.type!r}")
    for vol_target in image.config.volumes:
        target = os.path.normpath(vol_target)
        if target in targets:
            continue
        info, _ = engine.volumes.create(VolumeSpec(name=""))
        created_volumes.append(info.name)
        anonymous.append(info.name)
        plan.mounts.append(MountPlan("volume", target, source=info.mountpoint, copy_up=True))
    # Parents before children, so a mount inside another volume lands on top of it.
    plan.mounts.sort(key=lambda mp: mp.target.count("/"))
    return anonymous


def _etc_files(cdir: Path, hostname: str, spec: ContainerSpec) -> dict[str, str]:
    """hostname, hosts and resolv.conf for containers without a bridge network, written as docker does."""
    files = {}
    (cdir / "hostname").write_text(hostname + "\n")
    files["/etc/hostname"] = str(cdir / "hostname")
    if spec.network_mode == "host":
        hosts = Path("/etc/hosts").read_text() if os.path.exists("/etc/hosts") else ""
    else:
        hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
        hosts += f"127.0.0.1\t{hostname}\n" if spec.network_mode == "none" else ""
    for host, ip in spec.extra_hosts:
        hosts += f"{ip}\t{host}\n"
    (cdir / "hosts").write_text(hosts)
    files["/etc/hosts"] = str(cdir / "hosts")
    resolv = ""
    if spec.network_mode == "host" and os.path.exists("/etc/resolv.conf"):
        resolv = Path("/etc/resolv.conf").read_text()
    if spec.dns:
        resolv = "".join(f"nameserver {d}\n" for d in spec.dns)
    if spec.dns_search:
        resolv += f"search {' '.join(spec.dns_search)}\n"
    if spec.dns_opt:
        resolv += f"options {' '.join(spec.dns_opt)}\n"
    (cdir / "resolv.conf").write_text(resolv)
    files["/etc/resolv.conf"] = str(cdir / "resolv.conf")
    return files


def _short_lowerdir(images: Any, image_id: str) -> str:
    """The store's short links (top first), relative to the store's directory: ``l/<26 hex>`` is ~30
    bytes a layer, so 100+ layers fit in the mount's page of options (the init mounts from that directory)."""
    base = str(images.dir) + os.sep
    links = images.overlay_lowerdir(image_id).split(":")
    return ":".join(link[len(base):] if link.startswith(base) else link for link in links)
