"""The typed model -> the engine's specs: a ContainerSpec per replica, a NetworkSpec per network, a
VolumeSpec per volume, named and labelled as compose names and labels them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compose import labels as L
from compose.errors import ConfigError, UsageError
from compose.model import Network, Project, Service, ServiceVolume, Volume
from runtime import api
from runtime.sha256 import sha256  # short texts: see runtime/sha256.py

DEFAULT_NETWORK = "default"
DEFAULT_STOP_GRACE = 10.0


# ------------------------------------------------------------------------------------------------ names


def project_info(project: Project) -> L.ProjectInfo:
    return L.ProjectInfo(name=project.name, working_dir=project.working_dir,
                         config_files=tuple(project.config_files), environment_files=tuple(project.env_files))


def container_name(project: Project, service: Service, number: int) -> str:
    if service.container_name:
        return service.container_name
    return f"{project.name}-{service.name}-{number}"


def oneoff_name(project: Project, service: Service, slug: str) -> str:
    return f"{project.name}-{service.name}-run-{slug[:12]}"


def image_name(project: Project, service: Service) -> str:
    """The image a service runs: ``image:``, else the one compose builds for it, ``<project>-<service>``."""
    if service.image:
        return service.image
    if service.build is not None:
        return f"{project.name}-{service.name}"
    raise ConfigError(f'service "{service.name}" has neither an image nor a build context',
                      hint="add `image:` or `build:` to the service")


def service_networks(project: Project, service: Service) -> list[tuple[str, Network | None]]:
    """(key, network) pairs the service joins, in compose's order (priority, then name)."""
    if service.network_mode:
        return []
    entries = service.networks or {DEFAULT_NETWORK: None}

    def priority(key: str) -> tuple[int, str]:
        cfg = entries[key]
        return (-(cfg.priority if cfg else 0), key)

    return [(key, project.networks.get(key)) for key in sorted(entries, key=priority)]


def network_engine_name(project: Project, key: str) -> str:
    net = project.networks.get(key)
    return net.name if net else f"{project.name}_{key}"


def volume_engine_name(project: Project, key: str) -> str:
    vol = project.volumes.get(key)
    return vol.name if vol else key


# ---------------------------------------------------------------------------------------- networks etc.


def network_spec(project: Project, network: Network) -> api.NetworkSpec:
    return api.NetworkSpec(
        name=network.name,
        driver=network.driver or "bridge",
        internal=network.internal,
        attachable=network.attachable,
        enable_ipv6=bool(network.enable_ipv6),
        labels=L.network_labels(project_info(project), network.key, network.labels),
        ipam=[api.IPAMConfig(subnet=p.subnet, gateway=p.gateway, ip_range=p.ip_range,
                             aux_addresses=dict(p.aux_addresses)) for p in network.ipam.config],
        options=dict(network.driver_opts),
    )


def default_network(project: Project) -> Network:
    return Network(key=DEFAULT_NETWORK, name=f"{project.name}_{DEFAULT_NETWORK}")


def project_networks(project: Project, services: list[Service] | None = None) -> list[Network]:
    """The networks the (selected) services join, in first-use order (unused ones are not created, as
    compose-go drops unnecessary resources)."""
    nets: dict[str, Network] = {}
    for svc in services if services is not None else list(project.services.values()):
        for key, net in service_networks(project, svc):
            if key in nets:
                continue
            if net is None:
                if key != DEFAULT_NETWORK:
                    raise ConfigError(f'service "{svc.name}" refers to undefined network "{key}"',
                                      hint="declare it under the top-level `networks:` key")
                net = default_network(project)
            nets[key] = net
    return list(nets.values())


def project_volumes(project: Project, services: list[Service] | None = None) -> list[Volume]:
    """The named volumes the (selected) services mount."""
    used: dict[str, Volume] = {}
    for svc in services if services is not None else list(project.services.values()):
        for v in svc.volumes:
            if v.type == "volume" and v.source and v.source in project.volumes:
                used.setdefault(v.source, project.volumes[v.source])
    return list(used.values())


def volume_spec(project: Project, volume: Volume) -> api.VolumeSpec:
    return api.VolumeSpec(name=volume.name, driver=volume.driver or "local",
                          labels=L.volume_labels(project_info(project), volume.key, volume.labels),
                          driver_opts=dict(volume.driver_opts))


# -------------------------------------------------------------------------------------------- containers


def _mount(project: Project, v: ServiceVolume) -> api.Mount:
    if v.type == "bind":
        return api.Mount(type="bind", target=v.target, source=v.source or "", read_only=v.read_only,
                         propagation=(v.bind.propagation or "") if v.bind else "",
                         create_host_path=v.bind.create_host_path if v.bind else True,
                         selinux=(v.bind.selinux or "") if v.bind else "")
    if v.type == "volume":
        return api.Mount(type="volume", target=v.target,
                         source=volume_engine_name(project, v.source) if v.source else "",
                         read_only=v.read_only, nocopy=bool(v.volume and v.volume.nocopy),
                         subpath=(v.volume.subpath or "") if v.volume else "")
    if v.type == "tmpfs":
        return api.Mount(type="tmpfs", target=v.target, read_only=v.read_only,
                         tmpfs_size=v.tmpfs.size if v.tmpfs else None,
                         tmpfs_mode=v.tmpfs.mode if v.tmpfs else None)
    raise ConfigError(f"volume type {v.type!r} is not supported by hoist", hint="use bind, volume or tmpfs")


def _tmpfs_mount(entry: str) -> api.Mount:
    target, _, opts = entry.partition(":")
    size = mode = None
    for opt in filter(None, opts.split(",")):
        key, _, value = opt.partition("=")
        if key == "size":
            from compose.units import parse_bytes

            size = parse_bytes(value)
        elif key == "mode":
            mode = int(value, 8)
    return api.Mount(type="tmpfs", target=target, tmpfs_size=size, tmpfs_mode=mode)


def _file_mounts(project: Project, service: Service, state_dir: Path | None) -> list[api.Mount]:
    """Secrets at /run/secrets/<name>, configs at /<name>: read-only binds of a file."""
    mounts = []
    for kind, refs, table, default_dir in (("secret", service.secrets, project.secrets, "/run/secrets/"),
                                           ("config", service.configs, project.configs, "/")):
        for ref in refs:
            obj = table.get(ref.source)
            if obj is None:
                raise ConfigError(f'service "{service.name}" uses undefined {kind} "{ref.source}"')
            if obj.file:
                source = obj.file
            elif obj.content is not None or obj.environment is not None:
                if state_dir is None:
                    raise ConfigError(f'{kind} "{ref.source}" needs a state directory to be written to')
                text = obj.content if obj.content is not None else project.environment.get(
                    obj.environment or "", "")
                path = state_dir / f"{kind}s" / ref.source
                # Only root on the host may read them; the container sees the file through its bind mount.
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                path.write_text(text)
                source = str(path)
            else:
                raise ConfigError(f'external {kind} "{ref.source}" is not supported by hoist',
                                  hint=f"give the {kind} a `file:`")
            target = ref.target or ref.source
            if not target.startswith("/"):
                target = default_dir + target
            mounts.append(api.Mount(type="bind", source=source, target=target, read_only=True))
    return mounts


def _restart_policy(service: Service) -> api.RestartPolicy:
    text = service.restart
    if text is None and service.deploy and service.deploy.restart_policy:
        cond = service.deploy.restart_policy.condition or "any"
        name = {"none": "no", "on-failure": "on-failure", "any": "always"}.get(cond, "no")
        return api.RestartPolicy(name=name, max_retries=service.deploy.restart_policy.max_attempts or 0)  # type: ignore[arg-type]
    if not text or text == "no":
        return api.RestartPolicy()
    name, _, count = text.partition(":")
    if name not in ("always", "on-failure", "unless-stopped"):
        raise ConfigError(f'service "{service.name}": invalid restart policy {text!r}',
                          hint='use "no", "always", "on-failure[:N]" or "unless-stopped"')
    return api.RestartPolicy(name=name, max_retries=int(count) if count else 0)  # type: ignore[arg-type]


def _healthcheck(service: Service, image_health: api.Healthcheck | None) -> api.Healthcheck | None:
    hc = service.healthcheck
    if hc is None:
        return None
    if hc.disable or (hc.test and hc.test[0] == "NONE"):
        return api.Healthcheck(test=["NONE"])
    base = image_health or api.Healthcheck(test=["NONE"])
    test = hc.test or base.test
    if test == ["NONE"] and not hc.test:
        return None  # fields tuned but no test anywhere: nothing to run
    return api.Healthcheck(
        test=list(test),
        interval=hc.interval if hc.interval is not None else base.interval,
        timeout=hc.timeout if hc.timeout is not None else base.timeout,
        start_period=hc.start_period if hc.start_period is not None else base.start_period,
        start_interval=hc.start_interval if hc.start_interval is not None else base.start_interval,
        retries=hc.retries if hc.retries is not None else base.retries,
    )


def _resources(service: Service) -> api.Resources:
    limits = service.deploy.resources.limits if service.deploy and service.deploy.resources else None
    reservations = service.deploy.resources.reservations if service.deploy and service.deploy.resources else None
    return api.Resources(
        memory=service.mem_limit or (limits.memory if limits else None),
        memory_reservation=service.mem_reservation or (reservations.memory if reservations else None),
        memory_swap=service.memswap_limit,
        cpus=service.cpus or (limits.cpus if limits else None),
        cpu_shares=service.cpu_shares,
        cpu_quota=service.cpu_quota,
        cpu_period=service.cpu_period,
        cpuset_cpus=service.cpuset,
        pids_limit=service.pids_limit or (limits.pids if limits else None),
        mem_swappiness=service.mem_swappiness if service.mem_swappiness != -1 else None,
        oom_kill_disable=bool(service.oom_kill_disable),
        **_block_io(service),
    )


def _block_io(service: Service) -> dict[str, Any]:
    from compose.units import parse_bytes

    blkio = service.blkio_config
    if blkio is None:
        return {}

    def rate(key: str, value: int | str) -> int:
        # bps rates may carry a unit (compose's "12mb"); iops rates are plain counts
        try:
            return parse_bytes(value) if key.endswith("bps") else int(value)
        except (ConfigError, ValueError):
            raise ConfigError(f'service "{service.name}": blkio_config.{key}: invalid rate {value!r}',
                              hint='give a number (bytes or operations per second), e.g. 1048576 or "1mb" '
                                   'for bps') from None

    return {"blkio_weight": blkio.weight,
            "blkio_weight_device": [(d.path, d.weight) for d in blkio.weight_device],
            **{key: [(d.path, rate(key, d.rate)) for d in getattr(blkio, key)]
               for key in ("device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops")}}


def _ulimits(service: Service) -> list[api.Ulimit]:
    out = []
    for name, u in sorted(service.ulimits.items()):
        soft = u.single if u.single is not None else u.soft
        hard = u.single if u.single is not None else u.hard
        if soft is None or hard is None:
            raise ConfigError(f'service "{service.name}": ulimit {name} needs soft and hard values')
        out.append(api.Ulimit(name=name, soft=soft, hard=hard))
    return out


def _ports(service: Service) -> list[api.PortBinding]:
    out = []
    for p in service.ports:
        host_port = 0
        if p.published:
            first = str(p.published).split("-", 1)[0]
            try:
                host_port = int(first)
            except ValueError as exc:
                raise ConfigError(f'service "{service.name}": invalid published port {p.published!r}') from exc
        out.append(api.PortBinding(container_port=p.target, protocol=p.protocol or "tcp",  # type: ignore[arg-type]
                                   host_ip=p.host_ip or "", host_port=host_port))
    return out


def _service_ref_mode(project: Project, service: Service, value: str | None, what: str) -> str | None:
    """``service:x`` (compose) -> ``container:<x's first container>`` (engine)."""
    if value and value.startswith("service:"):
        other = value.split(":", 1)[1]
        if other not in project.services:
            raise ConfigError(f'service "{service.name}": {what} refers to unknown service "{other}"')
        return "container:" + container_name(project, project.services[other], 1)
    return value


def _links(project: Project, service: Service) -> list[tuple[str, str]]:
    out = []
    for link in service.links:
        target, _, alias = link.partition(":")
        if target in project.services:
            out.append((container_name(project, project.services[target], 1), alias or target))
        else:
            out.append((target, alias or target))
    for link in service.external_links:
        # A container of another project (or of none) by its name; as with links, the alias resolves
        # to it over a network both share (an external one, typically).
        target, _, alias = link.partition(":")
        out.append((target, alias or target))
    return out


def dependency_labels(service: Service) -> list[L.DependencyLabel]:
    return [L.DependencyLabel(name, d.condition, d.restart, d.required)
            for name, d in sorted(service.depends_on.items())]


def container_spec(project: Project, service: Service, number: int, *, config_hash: str,
                   image_config: api.ImageConfig | None = None, name: str | None = None,
                   oneoff: bool = False, slug: str = "", state_dir: Path | None = None,
                   image: str | None = None, use_aliases: bool | None = None) -> api.ContainerSpec:
    """The ContainerSpec of replica ``number`` of ``service``. ``use_aliases`` (default: not ``oneoff``,
    `run --use-aliases`): the service's name and network aliases on its networks, besides the container's
    name; as compose's, a one-off container is reachable by its own name only unless asked."""
    cname = name or container_name(project, service, number)
    image_ref = image or image_name(project, service)
    _check_userns_mode(service)
    env = {k: v for k, v in service.environment.items() if v is not None}
    labels = L.container_labels(project_info(project), service.name, number, config_hash=config_hash,
                                depends_on=dependency_labels(service), image=image_ref, oneoff=oneoff,
                                slug=slug, user_labels=service.labels)
    network_mode = "bridge"
    endpoints: list[api.EndpointSpec] = []
    if service.network_mode:
        network_mode = _service_ref_mode(project, service, service.network_mode, "network_mode") or "bridge"
    else:
        for key, _net in service_networks(project, service):
            cfg = service.networks.get(key) if service.networks else None
            aliases = [service.name] if use_aliases or (use_aliases is None and not oneoff) else []
            wanted = [cname] + ((cfg.aliases if cfg else []) if aliases else [])
            aliases += [a for a in wanted if a not in aliases]
            endpoints.append(api.EndpointSpec(
                network=network_engine_name(project, key), aliases=aliases,
                ipv4_address=cfg.ipv4_address if cfg else None, ipv6_address=cfg.ipv6_address if cfg else None,
                mac_address=(cfg.mac_address if cfg else None) or (service.mac_address if not endpoints else None),
                priority=cfg.priority if cfg else 0, gw_priority=cfg.gw_priority if cfg else 0))
    mounts = [_mount(project, v) for v in service.volumes]
    mounts += [_tmpfs_mount(t) for t in service.tmpfs]
    mounts += _file_mounts(project, service, state_dir)
    log_opts = service.logging.options if service.logging else {}
    max_size = None
    if log_opts.get("max-size"):
        from compose.units import parse_bytes

        max_size = parse_bytes(str(log_opts["max-size"]))
    return api.ContainerSpec(
        name=cname,
        image=image_ref,
        entrypoint=list(service.entrypoint) if service.entrypoint is not None else None,
        command=list(service.command) if service.command is not None else None,
        env=env,
        working_dir=service.working_dir,
        user=service.user,
        group_add=list(service.group_add),
        hostname=service.hostname,
        domainname=service.domainname,
        labels=labels,
        annotations=dict(service.annotations),
        mounts=mounts,
        read_only=service.read_only,
        resources=_resources(service),
        cap_add=list(service.cap_add),
        cap_drop=list(service.cap_drop),
        privileged=service.privileged,
        security_opt=list(service.security_opt),
        ulimits=_ulimits(service),
        sysctls=dict(service.sysctls),
        oom_score_adj=service.oom_score_adj,
        init=bool(service.init),
        shm_size=service.shm_size,
        stop_signal=service.stop_signal,
        stop_grace_period=service.stop_grace_period if service.stop_grace_period is not None
        else DEFAULT_STOP_GRACE,
        restart=api.RestartPolicy() if oneoff else _restart_policy(service),
        healthcheck=_healthcheck(service, image_config.healthcheck if image_config else None),
        tty=service.tty,
        stdin_open=service.stdin_open,
        network_mode=network_mode,
        networks=endpoints,
        ports=[] if oneoff else _ports(service),
        expose=list(service.expose),
        dns=list(service.dns),
        dns_search=list(service.dns_search),
        dns_opt=list(service.dns_opt),
        extra_hosts=[(host, ip) for host, ips in service.extra_hosts.items() for ip in ips],
        links=_links(project, service),
        pid_mode=_service_ref_mode(project, service, service.pid, "pid"),
        ipc_mode=_service_ref_mode(project, service, service.ipc, "ipc"),
        uts_mode=service.uts,
        cgroupns_mode=service.cgroup,
        cgroup_parent=service.cgroup_parent,
        devices=[f"{d.source}:{d.target}:{d.permissions}" for d in service.devices],
        device_cgroup_rules=list(service.device_cgroup_rules),
        log_max_size=max_size,
        log_max_files=int(log_opts.get("max-file") or 1),
    )


def _check_userns_mode(service: Service) -> None:
    # "host" is the only user namespace mode Docker takes (it opts out of a daemon's userns-remap); hoist
    # never remaps, so it is what every container gets.
    if service.userns_mode not in (None, "", "host"):
        raise ConfigError(f'service "{service.name}": userns_mode "{service.userns_mode}" is not supported',
                          hint='the only user namespace mode is "host" (containers share the host\'s user '
                               'namespace); remove userns_mode')


def check_scale(service: Service, replicas: int) -> None:
    if service.container_name and replicas > 1:
        raise UsageError(f'service "{service.name}" has container_name "{service.container_name}" and so '
                         f"cannot be scaled to {replicas}", hint="remove container_name to run several replicas")


def run_slug(seed: str) -> str:
    return sha256(seed.encode()).hexdigest()
