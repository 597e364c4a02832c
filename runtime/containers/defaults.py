"""Docker's defaults for a container, and how a spec combines with its image (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
DEFAULT_STOP_SIGNAL = "SIGTERM"

# moby oci/caps/defaults.go: the 14 capabilities a non-privileged container keeps.
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

# linux/capability.h numbering.
CAPABILITY_NUMBERS: dict[str, int] = {name: i for i, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
))}

# Docker's masked paths (files get /dev/null bound over them, directories an empty read-only tmpfs).
MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# Sysctls that are namespaced (so a container may set them): docker's allowlist.
NAMESPACED_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                      "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
NAMESPACED_SYSCTL_PREFIXES = ("fs.mqueue.", "net.")

ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                "rss", "rtprio", "rttime", "sigpending", "stack", "as")


def normalize_capability(name: str) -> str:
    """'net_admin', 'NET_ADMIN' and 'CAP_NET_ADMIN' all mean CAP_NET_ADMIN; 'ALL' stays ALL."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    return upper if upper.startswith("CAP_") else f"CAP_{upper}"


def effective_capabilities(cap_add: Sequence[str], cap_drop: Sequence[str], privileged: bool,
                           known: Mapping[str, int] = CAPABILITY_NUMBERS) -> list[str]:
    """Docker's rule: start from the defaults (or all when privileged), drop, then add; ALL works both ways."""
    adds = [normalize_capability(c) for c in cap_add]
    drops = [normalize_capability(c) for c in cap_drop]
    for cap in adds + drops:
        if cap != "ALL" and cap not in known:
            raise ValueError(f"unknown capability {cap!r}")
    if privileged or "ALL" in adds:
        base = list(known)
    else:
        base = list(DEFAULT_CAPABILITIES)
    if "ALL" in drops:
        base = []
    else:
        base = [c for c in base if c not in drops]
    for cap in adds:
        if cap != "ALL" and cap not in base:
            base.append(cap)
    return sorted(base, key=lambda c: known[c])


def combine_command(image_entrypoint: Sequence[str] | None, image_cmd: Sequence[str] | None,
                    entrypoint: Sequence[str] | None, command: Sequence[str] | None) -> list[str]:
    """The argv Docker runs. Setting an entrypoint discards the image's CMD; [] resets the entrypoint."""
    if entrypoint is not None:
        ep = list(entrypoint)
        cmd = list(command) if command is not None else []
    else:
        ep = list(image_entrypoint or [])
        cmd = list(command) if command is not None else list(image_cmd or [])
    return ep + cmd


def container_hostname(spec_hostname: str | None, container_id: str, network_mode: str | None,
                       uts_mode: str | None) -> str:
    """The hostname a container gets, as Docker picks it: the one asked for; else the host's when the
    container shares the host's UTS namespace or network (``docker run --network host`` reports the host's
    name); else the first 12 hex digits of its id."""
    if spec_hostname:
        return spec_hostname
    if uts_mode == "host" or network_mode == "host":
        import socket

        return socket.gethostname()
    return container_id[:12]


def merge_env(image_env: Sequence[str], env: Mapping[str, str], hostname: str | None = None,
              tty: bool = False) -> list[str]:
    """The image's "K=V" list overridden by the spec, with PATH, HOSTNAME and (with a TTY) TERM=xterm as
    Docker sets them."""
    merged: dict[str, str] = {}
    for item in image_env:
        key, _, value = item.partition("=")
        merged[key] = value
    merged.update(env)
    merged.setdefault("PATH", DEFAULT_PATH)
    if tty:
        merged.setdefault("TERM", "xterm")
    if hostname:
        merged = {"HOSTNAME": hostname, **{k: v for k, v in merged.items() if k != "HOSTNAME"}} \
            if "HOSTNAME" not in env else merged
    return [f"{k}={v}" for k, v in merged.items()]


def is_namespaced_sysctl(name: str) -> bool:
    return name in NAMESPACED_SYSCTLS or name.startswith(NAMESPACED_SYSCTL_PREFIXES)


def signal_number(name: str | int | None, default: str = DEFAULT_STOP_SIGNAL) -> int:
    """'SIGTERM', 'TERM', '15' or 15 -> 15."""
    import signal as _signal

    if name is None or name == "":
        name = default
    if isinstance(name, int):
        return name
    text = name.strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(getattr(_signal.Signals, text))
    except AttributeError:
        raise ValueError(f"unknown signal {name!r}") from None
