"""The engine's typed API: the spec and state dataclasses, and the Engine protocol.

This is the whole surface the compose side may use (together with :mod:`runtime.errors`). Specs are plain
data: durations are seconds (float), sizes are bytes (int), labels are ``dict[str, str]``. The engine has no
notion of services, projects or YAML; the compose side finds its objects again through labels.

``runtime.engine.Engine`` implements :class:`EngineAPI`; obtain one with ``runtime.engine.open_engine(root)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

if TYPE_CHECKING:
    import threading
    from contextlib import AbstractContextManager

# Every dataclass here has a docstring: without one, ``@dataclass`` computes ``inspect.signature`` of the
# class to make one up, at import time of every CLI process (~0.05 ms a class).

# --------------------------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config a container needs (``config`` in the image JSON)."""

    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] = field(default_factory=list)  # "K=V" as in the image config
    working_dir: str = ""
    user: str = ""
    exposed_ports: list[str] = field(default_factory=list)  # "80/tcp"
    volumes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    healthcheck: Healthcheck | None = None
    shell: list[str] | None = None
    onbuild: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImageInfo:
    """An image in the store, as ``image inspect`` shows it."""

    id: str  # "sha256:<hex>" of the image config
    tags: list[str]  # fully qualified references, e.g. "docker.io/library/busybox:latest"
    digests: list[str]  # "repo@sha256:..." for images that came from a registry
    created: str  # RFC 3339
    size: int  # bytes of unpacked layers
    architecture: str
    os: str
    config: ImageConfig
    layers: list[str]  # diff ids, lowest first


# ------------------------------------------------------------------------------------------- containers


@dataclass(frozen=True)
class Healthcheck:
    """``test`` is in Docker's form: ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]."""

    test: list[str]
    interval: float = 30.0
    timeout: float = 30.0
    start_period: float = 0.0
    start_interval: float = 5.0
    retries: int = 3


@dataclass(frozen=True)
class Mount:
    """A bind mount, a named or anonymous volume, or a tmpfs in the container."""

    type: Literal["bind", "volume", "tmpfs"]
    target: str
    source: str = ""  # host path for bind, volume name for volume, unused for tmpfs
    read_only: bool = False
    propagation: str = ""  # rprivate (default), private, rshared, shared, rslave, slave
    create_host_path: bool = True  # bind: create a missing source directory (compose's default)
    nocopy: bool = False  # volume: do not copy the image's content into a new volume
    subpath: str = ""
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    selinux: str = ""
    # volume: the named (existing) volume is this container's anonymous volume, as when compose hands a
    # recreated container its predecessor's: removed with the container by `rm -v` / `down -v`.
    anonymous: bool = False


@dataclass(frozen=True)
class RestartPolicy:
    """When the supervisor starts an exited container again (Docker's policies)."""

    name: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    max_retries: int = 0  # on-failure only; 0 means unlimited


@dataclass(frozen=True)
class Resources:
    """cgroup limits; None leaves the host's default."""

    memory: int | None = None  # bytes
    memory_reservation: int | None = None
    memory_swap: int | None = None  # memory+swap total, -1 for unlimited
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None
    mem_swappiness: int | None = None  # 0-100 (cgroup v1 only, as Docker)
    oom_kill_disable: bool = False  # cgroup v1 only, as Docker
    # Block I/O (``blkio_config``): a weight (10-1000) where the kernel has one (BFQ), and per-device
    # (block device path, value) weights and throttles (bytes or operations per second).
    blkio_weight: int | None = None
    blkio_weight_device: list[tuple[str, int]] = field(default_factory=list)
    device_read_bps: list[tuple[str, int]] = field(default_factory=list)
    device_write_bps: list[tuple[str, int]] = field(default_factory=list)
    device_read_iops: list[tuple[str, int]] = field(default_factory=list)
    device_write_iops: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Ulimit:
    """One resource limit set on the container's init (setrlimit)."""

    name: str  # "nofile", "nproc", ... (without RLIMIT_)
    soft: int
    hard: int


@dataclass(frozen=True)
class PortBinding:
    """A container port published on the host."""

    container_port: int
    protocol: Literal["tcp", "udp", "sctp"] = "tcp"
    host_ip: str = ""  # "" means all host addresses
    host_port: int = 0  # 0 means a random free port


@dataclass(frozen=True)
class EndpointSpec:
    """A container's attachment to a network, made before its process starts."""

    network: str  # network name (or id)
    aliases: list[str] = field(default_factory=list)
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    mac_address: str | None = None
    priority: int = 0
    gw_priority: int = 0


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a container is created from (docker's create options)."""

    name: str
    image: str  # reference or image id
    entrypoint: list[str] | None = None  # None: the image's; [] resets it
    command: list[str] | None = None  # None: the image's (unless entrypoint was set)
    env: dict[str, str] = field(default_factory=dict)  # merged over the image's env
    working_dir: str | None = None
    user: str | None = None  # "name", "uid", "uid:gid", "name:group"
    group_add: list[str] = field(default_factory=list)
    hostname: str | None = None
    domainname: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)  # OCI annotations (inspect: HostConfig.Annotations)
    mounts: list[Mount] = field(default_factory=list)
    read_only: bool = False
    resources: Resources = field(default_factory=Resources)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    security_opt: list[str] = field(default_factory=list)  # "no-new-privileges[:true]"
    ulimits: list[Ulimit] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    oom_score_adj: int | None = None
    init: bool = False
    shm_size: int | None = None
    stop_signal: str | None = None  # None: the image's, else SIGTERM
    stop_grace_period: float = 10.0
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    healthcheck: Healthcheck | None = None  # None: the image's; test ["NONE"] disables
    tty: bool = False
    console_size: tuple[int, int] | None = None  # (rows, columns) of the pty at start, as docker's ConsoleSize
    stdin_open: bool = False
    # docker's StdinOnce (``run -i`` attached): the container's stdin closes when the first attached client
    # that fed it ends its input. Without it (a service's ``stdin_open``), stdin outlives every attach.
    stdin_once: bool = False
    # Networking. network_mode: "bridge" (attach to ``networks``), "none", "host", "container:<id or name>".
    network_mode: str = "bridge"
    networks: list[EndpointSpec] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opt: list[str] = field(default_factory=list)
    extra_hosts: list[tuple[str, str]] = field(default_factory=list)  # (name, ip or "host-gateway")
    links: list[tuple[str, str]] = field(default_factory=list)  # (container name, alias)
    pid_mode: str | None = None  # "host" or "container:<id>"
    ipc_mode: str | None = None  # "private" (default), "shareable", "host", "container:<id>"
    uts_mode: str | None = None  # "host": the host's hostname and domain name (no UTS namespace)
    cgroupns_mode: str | None = None  # "private" (default) or "host": which cgroup namespace PID 1 sees
    cgroup_parent: str | None = None  # cgroup (relative to each hierarchy) to create the container's in
    devices: list[str] = field(default_factory=list)  # "/dev/x[:/dev/y[:rwm]]"
    device_cgroup_rules: list[str] = field(default_factory=list)  # "c 1:3 mr", "a 7:* rmw", as devices.allow
    log_max_size: int | None = None  # bytes before rotation
    log_max_files: int = 1


ContainerStatus = Literal["created", "running", "paused", "restarting", "removing", "exited", "dead"]
HealthStatus = Literal["starting", "healthy", "unhealthy"]


@dataclass(frozen=True)
class HealthLogEntry:
    """One healthcheck run, as in ``docker inspect``'s State.Health.Log."""

    start: str
    end: str
    exit_code: int
    output: str


@dataclass(frozen=True)
class EndpointState:
    """A container's attachment to a network once made: its address and aliases."""

    network: str
    network_id: str
    ip_address: str
    prefix_len: int
    gateway: str
    mac_address: str
    aliases: list[str]


@dataclass(frozen=True)
class ContainerState:
    """A container as ``inspect`` reports it: the record, the run status and the kernel's truth."""

    id: str  # 64 hex
    name: str
    image: str  # the reference the spec named
    image_id: str
    labels: dict[str, str]
    status: ContainerStatus
    created: str  # RFC 3339
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    started_at: str = ""
    finished_at: str = ""
    restart_count: int = 0
    health: HealthStatus | None = None
    health_log: list[HealthLogEntry] = field(default_factory=list)
    health_failing_streak: int = 0
    error: str = ""  # why the last start failed, or why the state is uncertain (supervisor lost)
    endpoints: list[EndpointState] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)  # actual host ports, random ones resolved
    spec: ContainerSpec | None = None


@dataclass(frozen=True)
class LogRecord:
    """One line of a container's log."""

    time: str  # RFC 3339 with nanoseconds
    stream: Literal["stdout", "stderr"]
    text: str  # one line, newline included when the program wrote one


@dataclass(frozen=True)
class ExecSpec:
    """A process to run in a running container (``exec``)."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    working_dir: str | None = None
    tty: bool = False
    console_size: tuple[int, int] | None = None  # (rows, columns) of the pty at start
    privileged: bool = False
    detach: bool = False


@dataclass(frozen=True)
class ContainerStats:
    """One sample of a container's resource usage (``docker stats``' raw counters). A container that is not
    running has every counter at 0 (``running`` False), as docker reports it. CPU % needs two samples:
    (Δcpu_usage / Δsystem_cpu_usage) × online_cpus × 100."""

    id: str
    name: str
    running: bool = False
    cpu_usage: int = 0  # nanoseconds of CPU the container used
    system_cpu_usage: int = 0  # nanoseconds of CPU time of the host (/proc/stat), as docker's
    online_cpus: int = 0
    memory_usage: int = 0  # bytes, inactive page cache left out (the docker CLI's "usage")
    memory_limit: int = 0  # bytes, at most the host's memory
    pids: int = 0
    net_rx: int = 0  # bytes over the container's interfaces but lo
    net_tx: int = 0
    block_read: int = 0  # bytes
    block_write: int = 0


# --------------------------------------------------------------------------------------- networks, volumes


@dataclass(frozen=True)
class IPAMConfig:
    """One address pool of a network."""

    subnet: str | None = None
    gateway: str | None = None
    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkSpec:
    """Everything a network is created from."""

    name: str
    driver: str = "bridge"
    internal: bool = False
    attachable: bool = True
    enable_ipv6: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    ipam: list[IPAMConfig] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkInfo:
    """A network as ``network inspect`` reports it."""

    id: str
    name: str
    driver: str
    internal: bool
    labels: dict[str, str]
    subnet: str
    gateway: str
    bridge: str  # host interface name
    created: str
    containers: dict[str, str]  # container id -> ip


@dataclass(frozen=True)
class VolumeSpec:
    """Everything a volume is created from."""

    name: str
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    driver_opts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeInfo:
    """A volume as ``volume inspect`` reports it."""

    name: str
    driver: str
    labels: dict[str, str]
    mountpoint: str
    created: str


# ------------------------------------------------------------------------------------------- the engine


class ContainerWatch(Protocol):
    """What ``EngineAPI.container_watch`` returns: ``wait(timeout)`` is True once the recorded state of a
    watched container may have changed, False when the timeout passed first; a context manager."""

    def wait(self, timeout: float) -> bool: ...
    def __enter__(self) -> ContainerWatch: ...
    def __exit__(self, *exc: object) -> None: ...


class ContainerChanges(Protocol):
    """What ``EngineAPI.container_changes`` returns: ``event`` is set when a container of the root may have
    been created, removed, started, exited or restarted. Before each look: ``refresh()``, then clear
    ``event``; ``close()`` when done. ``complete`` is False while some container could not be watched
    (no inotify watch left): look on a timer then."""

    event: threading.Event
    complete: bool

    def refresh(self) -> None: ...
    def close(self) -> None: ...


class EngineAPI(Protocol):
    """What the compose side may ask of the engine. All methods are synchronous and thread-safe."""

    root: Path

    # images
    def image_inspect(self, ref: str) -> ImageInfo: ...
    def image_list(self) -> list[ImageInfo]: ...
    def image_exists(self, ref: str) -> bool: ...
    def image_tag(self, ref: str, new_ref: str) -> None: ...
    def image_remove(self, ref: str, *, force: bool = False) -> list[str]: ...
    def image_import(self, tarball: Path, ref: str, *, changes: Sequence[str] = ()) -> ImageInfo: ...
    def image_load(self, archive: Path) -> list[ImageInfo]: ...
    def image_save(self, refs: Sequence[str], archive: Path, *, fmt: Literal["docker", "oci"] = "docker") -> None: ...

    # containers
    def container_create(self, spec: ContainerSpec) -> ContainerState: ...
    def container_start(self, ref: str) -> ContainerState: ...
    def container_stop(self, ref: str, *, timeout: float | None = None) -> ContainerState: ...
    # container_stop in two halves: the signal sent (returns at once), then the rest (grace, SIGKILL, exit)
    def container_stop_begin(self, ref: str, *, timeout: float | None = None) -> Any: ...
    def container_stop_finish(self, stop: Any, *, removing: bool = False) -> ContainerState: ...
    def container_kill(self, ref: str, *, signal: str = "SIGKILL") -> None: ...
    def container_restart(self, ref: str, *, timeout: float | None = None) -> ContainerState: ...
    def container_pause(self, ref: str) -> None: ...
    def container_unpause(self, ref: str) -> None: ...
    def container_remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None: ...
    def batched_network_teardown(self, networks_labeled: Mapping[str, str] | None = None
                                 ) -> AbstractContextManager[None]: ...
    def container_inspect(self, ref: str) -> ContainerState: ...
    def container_anonymous_volumes(self, ref: str) -> dict[str, str]: ...
    def container_list(self, *, labels: Mapping[str, str | None] | None = None,
                       all: bool = True) -> list[ContainerState]: ...
    def container_watch(self, ids: Sequence[str]) -> ContainerWatch: ...
    def container_changes(self) -> ContainerChanges | None: ...
    def container_wait(self, ref: str, *, timeout: float | None = None) -> int: ...
    def container_logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
                       since: str | None = None, until: str | None = None) -> Iterator[LogRecord]: ...
    def container_exec(self, ref: str, spec: ExecSpec) -> int: ...
    def container_top(self, ref: str) -> list[dict[str, str]]: ...
    def container_stats(self, ref: str) -> ContainerStats: ...
    # the container's filesystem: a new image from its changes (docker commit), a tar of it (docker export)
    def container_commit(self, ref: str, *, repository: str | None = None, changes: Sequence[str] = (),
                         message: str = "", author: str = "", pause: bool = True) -> str: ...
    def container_export(self, ref: str, out: BinaryIO) -> None: ...
    # docker cp: a tar of a path in the container (a context manager giving the stream), and one extracted there
    def container_get_archive(self, ref: str, path: str, *, follow_link: bool = False
                              ) -> AbstractContextManager[BinaryIO]: ...
    def container_put_archive(self, ref: str, path: str, stream: BinaryIO, *, archive: bool = False,
                              raw: bool = False, contents_only: bool = False) -> None: ...

    # networks
    def network_create(self, spec: NetworkSpec) -> NetworkInfo: ...
    def network_inspect(self, ref: str) -> NetworkInfo: ...
    def network_list(self, *, labels: Mapping[str, str | None] | None = None) -> list[NetworkInfo]: ...
    def network_remove(self, ref: str) -> None: ...
    def network_connect(self, network: str, container: str, endpoint: EndpointSpec) -> None: ...
    def network_disconnect(self, network: str, container: str) -> None: ...

    # volumes
    def volume_create(self, spec: VolumeSpec) -> VolumeInfo: ...
    def volume_inspect(self, name: str) -> VolumeInfo: ...
    def volume_list(self, *, labels: Mapping[str, str | None] | None = None) -> list[VolumeInfo]: ...
    def volume_remove(self, name: str, *, force: bool = False) -> None: ...
