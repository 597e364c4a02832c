"""The typed project model: what a loaded, validated and normalized compose project is.

Field names are the compose-spec key names, so ``service.stop_grace_period`` is the ``stop_grace_period`` key.
The model is built from the canonical (normalized, long-syntax) document by :func:`project_from_document`;
values keep compose's units except where a typed value is clearer to consume:

- durations (healthcheck intervals, ``stop_grace_period``, restart delays...) are ``float`` seconds;
- byte sizes (``shm_size``, ``mem_limit``, tmpfs ``size``...) are ``int`` bytes;
- every collection is present (empty rather than ``None``) unless "unset" and "empty" mean different things
  (``command``/``entrypoint``: ``None`` means "use the image's").

Every dataclass is frozen: the model is read by the planner, scheduler and renderers, never edited in place.
Every dataclass has a docstring: without one, ``@dataclass`` runs ``inspect.signature`` on the class at import
time to make one up, which every ``up`` would pay for again.
``extensions`` holds the ``x-*`` keys of the object it belongs to.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------------------------- service parts


@dataclass(frozen=True)
class DependsOn:
    """One ``depends_on`` entry. ``condition``: service_started | service_healthy | service_completed_successfully."""

    condition: str = "service_started"
    restart: bool = False  # restart this service when compose restarts/recreates the dependency
    required: bool = True  # False: a missing/disabled/failing dependency only warns


@dataclass(frozen=True)
class Port:
    """A published or exposed port in long form; ``published`` is a string (may be a range "8000-8010")."""

    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None


@dataclass(frozen=True)
class BindOptions:
    """``bind:`` options of a bind mount."""

    propagation: str | None = None
    create_host_path: bool = True
    selinux: str | None = None  # "z" | "Z"
    recursive: str | None = None


@dataclass(frozen=True)
class VolumeOptions:
    """``volume:`` options of a named or anonymous volume mount."""

    nocopy: bool = False
    subpath: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TmpfsOptions:
    """``tmpfs:`` options of a tmpfs mount."""

    size: int | None = None  # bytes
    mode: int | None = None  # file mode bits


@dataclass(frozen=True)
class ImageMountOptions:
    """``image:`` options of an image mount."""

    subpath: str | None = None


@dataclass(frozen=True)
class ServiceVolume:
    """A mount of a service. ``type``: volume | bind | tmpfs | npipe | cluster | image.

    ``source`` is an absolute host path for binds (after path resolution), the volume's key in the project's
    ``volumes`` for named volumes, and ``None`` for anonymous volumes and tmpfs.
    """

    type: str
    target: str
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image: ImageMountOptions | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Healthcheck:
    """``test`` is ``["CMD", ...]``, ``["CMD-SHELL", cmd]`` or ``["NONE"]``; ``None`` inherits the image's."""

    test: list[str] | None = None
    interval: float | None = None
    timeout: float | None = None
    retries: int | None = None
    start_period: float | None = None
    start_interval: float | None = None
    disable: bool = False
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildSecret:
    """A secret made available to a build (``build.secrets``)."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None


@dataclass(frozen=True)
class Build:
    """``context`` is an absolute directory (after path resolution) or a remote URL kept as written."""

    context: str = "."
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: dict[str, str | None] = field(default_factory=dict)
    ssh: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    cache_from: list[str] = field(default_factory=list)
    cache_to: list[str] = field(default_factory=list)
    no_cache: bool = False
    additional_contexts: dict[str, str] = field(default_factory=dict)
    network: str | None = None
    pull: bool = False
    target: str | None = None
    shm_size: int | None = None
    extra_hosts: dict[str, list[str]] = field(default_factory=dict)
    isolation: str | None = None
    privileged: bool = False
    secrets: list[BuildSecret] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    ulimits: dict[str, Ulimit] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    entitlements: list[str] = field(default_factory=list)
    provenance: str | None = None
    sbom: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ulimit:
    """``nofile: 1024`` is soft=hard=1024 (``single``); the long form sets soft and hard separately."""

    single: int | None = None
    soft: int | None = None
    hard: int | None = None


@dataclass(frozen=True)
class Logging:
    """``logging``: the log driver and its options."""

    driver: str | None = None
    options: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceNetwork:
    """A service's attachment to one network (the value under ``services.X.networks.NAME``)."""

    aliases: list[str] = field(default_factory=list)
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] = field(default_factory=list)
    mac_address: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    gw_priority: int = 0
    interface_name: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileReference:
    """A service's use of a secret or config: ``source`` is the key in top-level ``secrets``/``configs``."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvFile:
    """One ``env_file`` entry."""

    path: str
    required: bool = True
    format: str | None = None  # "raw": no quote parsing, no interpolation


@dataclass(frozen=True)
class Device:
    """One ``devices`` entry: a host device made available in the container."""

    source: str
    target: str
    permissions: str = "rwm"


@dataclass(frozen=True)
class WeightDevice:
    """A per-device block I/O weight (``blkio_config.weight_device``)."""

    path: str
    weight: int


@dataclass(frozen=True)
class ThrottleDevice:
    """A per-device block I/O rate limit (``blkio_config.device_*_bps/iops``)."""

    path: str
    rate: int  # bytes per second or operations per second


@dataclass(frozen=True)
class BlkioConfig:
    """``blkio_config``: block I/O weights and limits."""

    weight: int | None = None
    weight_device: list[WeightDevice] = field(default_factory=list)
    device_read_bps: list[ThrottleDevice] = field(default_factory=list)
    device_read_iops: list[ThrottleDevice] = field(default_factory=list)
    device_write_bps: list[ThrottleDevice] = field(default_factory=list)
    device_write_iops: list[ThrottleDevice] = field(default_factory=list)


@dataclass(frozen=True)
class CredentialSpec:
    """``credential_spec`` (Windows containers; kept for fidelity)."""

    config: str | None = None
    file: str | None = None
    registry: str | None = None


@dataclass(frozen=True)
class ServiceHook:
    """``post_start`` / ``pre_stop`` command run inside the container."""

    command: list[str]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Extends:
    """``extends``: the service (and file) this one was based on."""

    service: str
    file: str | None = None


@dataclass(frozen=True)
class Provider:
    """``provider``: a service implemented by an external provider."""

    type: str
    options: dict[str, Any] = field(default_factory=dict)


# -------------------------------------------------------------------------------------------- deploy


@dataclass(frozen=True)
class GenericResource:
    """A swarm generic resource (``deploy.resources.*.generic_resources``)."""

    kind: str
    value: int


@dataclass(frozen=True)
class DeviceRequest:
    """A device reservation (``deploy.resources.reservations.devices``), e.g. GPUs."""

    capabilities: list[str] = field(default_factory=list)
    driver: str | None = None
    count: int | None = None  # -1 = all
    device_ids: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resource:
    """One side of ``deploy.resources``: limits or reservations."""

    cpus: float | None = None
    memory: int | None = None  # bytes
    pids: int | None = None
    devices: list[DeviceRequest] = field(default_factory=list)
    generic_resources: list[GenericResource] = field(default_factory=list)


@dataclass(frozen=True)
class Resources:
    """``deploy.resources``."""

    limits: Resource | None = None
    reservations: Resource | None = None


@dataclass(frozen=True)
class RestartPolicy:
    """``deploy.restart_policy``."""

    condition: str | None = None  # none | on-failure | any
    delay: float | None = None
    max_attempts: int | None = None
    window: float | None = None


@dataclass(frozen=True)
class UpdateConfig:
    """``deploy.update_config`` or ``deploy.rollback_config``."""

    parallelism: int | None = None
    delay: float | None = None
    failure_action: str | None = None
    monitor: float | None = None
    max_failure_ratio: float | None = None
    order: str | None = None


@dataclass(frozen=True)
class Placement:
    """``deploy.placement``."""

    constraints: list[str] = field(default_factory=list)
    preferences: list[dict[str, str]] = field(default_factory=list)
    max_replicas_per_node: int | None = None


@dataclass(frozen=True)
class Deploy:
    """``deploy``: replicas, resources and the swarm-only settings."""

    mode: str | None = None  # replicated | global
    replicas: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    resources: Resources = field(default_factory=Resources)
    restart_policy: RestartPolicy | None = None
    placement: Placement | None = None
    endpoint_mode: str | None = None


# -------------------------------------------------------------------------------------------- develop


# develop.watch[].exec has the same shape as post_start / pre_stop hooks (compose-spec's service hook).
WatchExec = ServiceHook


@dataclass(frozen=True)
class WatchRule:
    """``action``: sync | rebuild | restart | sync+restart | sync+exec. ``path`` is absolute."""

    path: str
    action: str
    target: str | None = None
    ignore: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    initial_sync: bool = False
    exec: WatchExec | None = None


@dataclass(frozen=True)
class Develop:
    """``develop``: the watch rules of ``hoist watch``."""

    watch: list[WatchRule] = field(default_factory=list)


# -------------------------------------------------------------------------------------------- service


@dataclass(frozen=True)
class Service:
    """One service, normalized. ``name`` is its key under ``services``."""

    name: str
    image: str | None = None
    build: Build | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str | None] = field(default_factory=dict)
    env_file: list[EnvFile] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    label_file: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    ports: list[Port] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    volumes: list[ServiceVolume] = field(default_factory=list)
    volumes_from: list[str] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)
    networks: dict[str, ServiceNetwork | None] = field(default_factory=dict)
    network_mode: str | None = None
    depends_on: dict[str, DependsOn] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    external_links: list[str] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    restart: str | None = None  # no | always | on-failure[:N] | unless-stopped
    deploy: Deploy | None = None
    scale: int | None = None
    profiles: list[str] = field(default_factory=list)
    secrets: list[FileReference] = field(default_factory=list)
    configs: list[FileReference] = field(default_factory=list)
    container_name: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    user: str | None = None
    working_dir: str | None = None
    init: bool | None = None
    tty: bool = False
    stdin_open: bool = False
    privileged: bool = False
    read_only: bool = False
    attach: bool | None = None
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    pull_policy: str | None = None  # always | never | missing | build | daily | weekly | every_<dur>
    platform: str | None = None
    pid: str | None = None
    ipc: str | None = None
    uts: str | None = None
    cgroup: str | None = None
    cgroup_parent: str | None = None
    userns_mode: str | None = None
    runtime: str | None = None
    isolation: str | None = None
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    device_cgroup_rules: list[str] = field(default_factory=list)
    gpus: list[DeviceRequest] = field(default_factory=list)
    group_add: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_opt: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    extra_hosts: dict[str, list[str]] = field(default_factory=dict)
    mac_address: str | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    ulimits: dict[str, Ulimit] = field(default_factory=dict)
    storage_opt: dict[str, str] = field(default_factory=dict)
    logging: Logging | None = None
    blkio_config: BlkioConfig | None = None
    cpu_count: int | None = None
    cpu_percent: float | None = None
    cpu_shares: int | None = None
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpus: float | None = None
    cpuset: str | None = None
    mem_limit: int | None = None
    mem_reservation: int | None = None
    mem_swappiness: int | None = None
    memswap_limit: int | None = None
    oom_kill_disable: bool = False
    oom_score_adj: int | None = None
    pids_limit: int | None = None
    shm_size: int | None = None
    credential_spec: CredentialSpec | None = None
    post_start: list[ServiceHook] = field(default_factory=list)
    pre_stop: list[ServiceHook] = field(default_factory=list)
    develop: Develop | None = None
    provider: Provider | None = None
    use_api_socket: bool = False
    models: dict[str, Any] = field(default_factory=dict)  # model name -> {endpoint_var, model_var} or None
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def replicas(self) -> int:
        """How many containers this service runs: ``scale``, else ``deploy.replicas``, else 1."""
        if self.scale is not None:
            return self.scale
        if self.deploy is not None and self.deploy.replicas is not None:
            return self.deploy.replicas
        return 1


# -------------------------------------------------------------------------------------------- top level


@dataclass(frozen=True)
class IpamPool:
    """One ``ipam.config`` entry: an address pool of a network."""

    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ipam:
    """``ipam``: how a network's addresses are managed."""

    driver: str | None = None
    config: list[IpamPool] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Network:
    """A top-level network. ``name`` is the real (engine) name: ``<project>_<key>`` unless set explicitly."""

    key: str
    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    ipam: Ipam = field(default_factory=Ipam)
    external: bool = False
    internal: bool = False
    attachable: bool = False
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    labels: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Volume:
    """A top-level named volume. ``name`` is the real name: ``<project>_<key>`` unless set explicitly."""

    key: str
    name: str
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    external: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Secret:
    """A top-level secret: exactly one of ``file`` (absolute path), ``environment`` or ``content`` is set,
    or it is ``external``."""

    key: str
    name: str
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    driver: str | None = None
    driver_opts: dict[str, str] = field(default_factory=dict)
    template_driver: str | None = None
    extensions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config(Secret):
    """A top-level config: same shape as a secret."""


@dataclass(frozen=True)
class Project:
    """A whole loaded project. ``services`` holds only the enabled services (profiles applied);
    ``disabled_services`` the ones a profile switched off (kept so ``down`` can still find them)."""

    name: str
    working_dir: str
    services: dict[str, Service] = field(default_factory=dict)
    networks: dict[str, Network] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    configs: dict[str, Config] = field(default_factory=dict)
    disabled_services: dict[str, Service] = field(default_factory=dict)
    config_files: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)  # the variables used for interpolation
    profiles: list[str] = field(default_factory=list)  # the active profiles
    models: dict[str, Any] = field(default_factory=dict)  # top-level `models:` as written (AI models)
    extensions: dict[str, Any] = field(default_factory=dict)
    # The canonical document this model was built from (what `hoist config` prints). Not part of equality.
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def service(self, name: str) -> Service:
        """The enabled service ``name``; KeyError if there is none."""
        return self.services[name]

    @property
    def service_names(self) -> list[str]:
        return list(self.services)

    def service_hash(self, name: str) -> str:
        """compose's config hash of a service: sha256 of its canonical JSON minus the keys that do not
        require a recreate (build, pull_policy, scale, deploy.replicas, depends_on, profiles)."""
        from compose.confighash import service_config_hash

        return service_config_hash(self.document["services"][name])


# -------------------------------------------------------------------------------------------- building

_DURATION_FIELDS = frozenset({
    "interval", "timeout", "start_period", "start_interval", "stop_grace_period", "delay", "monitor", "window",
})
_BYTE_FIELDS = frozenset({"shm_size", "mem_limit", "mem_reservation", "memswap_limit", "memory", "size"})


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(hint: Any, value: Any, name: str) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return _convert(args[0], value, name)
        return value
    if dataclasses.is_dataclass(hint):
        return build(typing.cast(type, hint), value) if isinstance(value, dict) else value
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, v, name) for v in value] if isinstance(value, list) else value
    if origin is dict:
        _, item = typing.get_args(hint)
        return {k: _convert(item, v, name) for k, v in value.items()} if isinstance(value, dict) else value
    if hint is float:
        if name in _DURATION_FIELDS and isinstance(value, str):
            from compose.units import parse_duration

            return parse_duration(value)
        return float(value) if isinstance(value, (int, float, str)) else value
    if hint is int:
        if isinstance(value, str):
            if name in _BYTE_FIELDS:
                from compose.units import parse_bytes

                return parse_bytes(value)
            if name == "mode":
                return int(value, 8)
            try:
                return int(value)
            except ValueError:
                return value
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    return value


def build(cls: type, data: dict[str, Any], **extra: Any) -> Any:
    """Build dataclass ``cls`` from a canonical mapping: keys are field names, ``x-*`` go to extensions."""
    hints = _hints(cls)
    kwargs: dict[str, Any] = dict(extra)
    for f in dataclasses.fields(cls):
        if f.name in kwargs or f.name == "extensions":
            continue
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name], f.name)
            if kwargs[f.name] is None and (f.default is not dataclasses.MISSING
                                           or f.default_factory is not dataclasses.MISSING):
                del kwargs[f.name]
    if "extensions" in hints:
        ext = {k: v for k, v in data.items() if isinstance(k, str) and k.startswith("x-")}
        if ext:
            kwargs["extensions"] = ext
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in kwargs
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        from compose.errors import ConfigError

        raise ConfigError(f"{_KINDS.get(cls.__name__, cls.__name__)} is missing the required key `{missing[0]}`",
                          hint=f"add `{missing[0]}:`")
    return cls(**kwargs)


_KINDS = {"Port": "a port", "FileReference": "a secret or config reference", "BuildSecret": "a build secret",
          "ServiceVolume": "a volume", "Device": "a device", "ThrottleDevice": "a blkio device limit",
          "WeightDevice": "a blkio device weight", "GenericResource": "a generic resource"}


def _service(name: str, data: dict[str, Any]) -> Service:
    data = dict(data)
    ulimits = data.get("ulimits")
    if isinstance(ulimits, dict):
        data["ulimits"] = {k: ({"single": v} if isinstance(v, int) else v) for k, v in ulimits.items()}
    build_section = data.get("build")
    if isinstance(build_section, dict) and isinstance(build_section.get("ulimits"), dict):
        build_section = dict(build_section)
        build_section["ulimits"] = {k: ({"single": v} if isinstance(v, int) else v)
                                    for k, v in build_section["ulimits"].items()}
        data["build"] = build_section
    if isinstance(data.get("extra_hosts"), dict):
        data["extra_hosts"] = {k: (v if isinstance(v, list) else [v]) for k, v in data["extra_hosts"].items()}
    return build(Service, data, name=name)


def _checked(fn: Any) -> Any:
    """Values the schema lets through but that cannot be typed (``cpu_percent: "x"``) are ConfigErrors."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            from compose.errors import ConfigError

            raise ConfigError(f"invalid value in the compose model: {exc}",
                              hint="check the types of the values in the compose file") from None
    return wrapper


@_checked
def project_from_document(document: dict[str, Any], *, working_dir: str, config_files: list[str] | None = None,
                          env_files: list[str] | None = None, environment: dict[str, str] | None = None,
                          profiles: list[str] | None = None,
                          disabled: dict[str, Any] | None = None) -> Project:
    """The typed model of a canonical document (as :mod:`compose.normalize` produces it)."""
    name = document.get("name") or ""

    def named(cls: type, key: str, value: dict[str, Any] | None, prefix: bool = True) -> Any:
        value = value or {}
        real = value.get("name") or (f"{name}_{key}" if prefix else key)
        external = value.get("external")
        return build(cls, {**value, "external": bool(external)}, key=key, name=real)

    return Project(
        name=name,
        working_dir=working_dir,
        services={k: _service(k, v or {}) for k, v in (document.get("services") or {}).items()},
        networks={k: named(Network, k, v) for k, v in (document.get("networks") or {}).items()},
        volumes={k: named(Volume, k, v) for k, v in (document.get("volumes") or {}).items()},
        secrets={k: named(Secret, k, v) for k, v in (document.get("secrets") or {}).items()},
        configs={k: named(Config, k, v) for k, v in (document.get("configs") or {}).items()},
        disabled_services={k: _service(k, v or {}) for k, v in (disabled or {}).items()},
        config_files=list(config_files or []),
        env_files=list(env_files or []),
        environment=dict(environment or {}),
        profiles=list(profiles or []),
        models=dict(document.get("models") or {}),
        extensions={k: v for k, v in document.items() if isinstance(k, str) and k.startswith("x-")},
        document=document,
    )
