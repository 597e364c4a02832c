"""hoist container: manage containers (docker container's sub-commands and flags)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

HELP = "Manage containers"

_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
               "t": 1024**4}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compose.cli.parsers import LazyParser

    # One process runs one sub-command: each sub-parser gets its flags only when used (create/run carry ~70).
    sub = parser.add_subparsers(dest="container_command", metavar="COMMAND", required=True,
                                parser_class=LazyParser)
    for name, text, aliases, populate in _SUBCOMMAND_PARSERS:
        sub.add_parser(name, help=text, aliases=aliases, populate=populate)


def _containers(p: argparse.ArgumentParser) -> None:
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def _start_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach to the output and wait for the exit")
    _containers(p)


def _stop_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--time", "--timeout", dest="timeout", type=float, default=None,
                   help="seconds to wait before killing the container")
    p.add_argument("-s", "--signal", default=None, help="signal to send (default: the container's)")
    _containers(p)


def _kill_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-s", "--signal", default="SIGKILL", help="signal to send")
    _containers(p)


def _rm_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="force the removal of a running container")
    p.add_argument("-v", "--volumes", action="store_true", help="remove anonymous volumes of the container")
    _containers(p)


def _ls_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default: running only)")
    p.add_argument("-q", "--quiet", action="store_true", help="only display container ids")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--filter", action="append", default=[], help="filter output (label=KEY[=VALUE], name=, status=)")
    p.add_argument("--format", default=None, help="'json' for one JSON object per line")


def _logs_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("-n", "--tail", default="all", help="number of lines to show from the end")
    p.add_argument("--since", default=None, help="show logs since a timestamp (RFC 3339)")
    p.add_argument("--until", default=None, help="show logs before a timestamp (RFC 3339)")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("container", metavar="CONTAINER")


def _exec_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--detach", action="store_true", help="run the command in the background")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("-u", "--user", default=None, help="username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("-w", "--workdir", default=None, help="working directory inside the container")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("--privileged", action="store_true", help="give extended privileges to the command")
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def _container_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER")


def _stats_flags(p: argparse.ArgumentParser) -> None:
    from compose.cli.commands.stats import add_stats_flags

    add_stats_flags(p)
    p.add_argument("containers", nargs="*", metavar="CONTAINER")


def _port_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER", help="the container (name or id)")
    p.add_argument("private_port", nargs="?", default=None, metavar="PRIVATE_PORT[/PROTO]",
                   help="only this container port (tcp unless /udp): print its host addresses")


def _prune_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="filter (label=KEY[=VALUE])")


def _add_create_flags(p: argparse.ArgumentParser, run: bool) -> None:
    if run:
        p.add_argument("-d", "--detach", action="store_true", help="run in the background and print the id")
        p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("--name", default="", help="assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables (KEY=VALUE)")
    p.add_argument("--env-file", action="append", default=[], help="read a file of environment variables")
    p.add_argument("-l", "--label", action="append", default=[], help="set metadata (KEY=VALUE)")
    p.add_argument("--annotation", action="append", default=[],
                   help="add an annotation to the container, passed through to the runtime (KEY=VALUE)")
    p.add_argument("--entrypoint", default=None, help="overwrite the default ENTRYPOINT of the image")
    p.add_argument("-u", "--user", default=None, help="username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("--group-add", action="append", default=[], help="add additional groups to join")
    p.add_argument("-w", "--workdir", default=None, help="working directory inside the container")
    p.add_argument("--hostname", default=None, help="container host name")
    p.add_argument("--domainname", default=None, help="container NIS domain name")
    p.add_argument("-v", "--volume", action="append", default=[], help="bind mount a volume (SRC:DST[:ro])")
    p.add_argument("--tmpfs", action="append", default=[], help="mount a tmpfs directory (DST[:OPTIONS])")
    p.add_argument("--read-only", action="store_true", help="mount the container's root filesystem read-only")
    p.add_argument("--cap-add", action="append", default=[], help="add Linux capabilities")
    p.add_argument("--cap-drop", action="append", default=[], help="drop Linux capabilities")
    p.add_argument("--privileged", action="store_true", help="give extended privileges to this container")
    p.add_argument("--device", action="append", default=[], help="add a host device (HOST[:CONTAINER[:rwm]])")
    p.add_argument("--device-cgroup-rule", action="append", default=[],
                   help="add a rule to the cgroup allowed devices list (e.g. 'c 1:3 mr')")
    p.add_argument("--security-opt", action="append", default=[], help="security options (no-new-privileges)")
    p.add_argument("-m", "--memory", default=None, help="memory limit (e.g. 64m)")
    p.add_argument("--memory-reservation", default=None, help="memory soft limit")
    p.add_argument("--memory-swap", default=None, help="memory plus swap limit; -1 for unlimited swap")
    p.add_argument("--cpus", type=float, default=None, help="number of CPUs")
    p.add_argument("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", default=None, help="CPUs in which to allow execution (0-3, 0,1)")
    p.add_argument("--cpuset-mems", default=None, help="memory nodes in which to allow execution")
    p.add_argument("--pids-limit", type=int, default=None, help="tune the container pids limit (-1: unlimited)")
    p.add_argument("--memory-swappiness", type=int, default=None, help="tune container memory swappiness (0 to 100)")
    p.add_argument("--oom-kill-disable", action="store_true", help="disable OOM killer")
    p.add_argument("--ulimit", action="append", default=[], help="ulimit options (nofile=1024:2048)")
    p.add_argument("--sysctl", action="append", default=[], help="sysctl options (KEY=VALUE)")
    p.add_argument("--oom-score-adj", type=int, default=None, help="tune the host's OOM preferences")
    p.add_argument("--shm-size", default=None, help="size of /dev/shm")
    p.add_argument("--init", action="store_true", help="run an init inside the container (signals, reaping)")
    p.add_argument("--restart", default="no", help="restart policy (no, always, on-failure[:N], unless-stopped)")
    p.add_argument("--stop-signal", default=None, help="signal to stop the container")
    p.add_argument("--stop-timeout", type=float, default=None, help="seconds to wait before killing on stop")
    p.add_argument("--health-cmd", default=None, help="command to run to check health")
    p.add_argument("--health-interval", default=None, help="time between running the check (e.g. 30s)")
    p.add_argument("--health-timeout", default=None, help="maximum time to allow one check to run")
    p.add_argument("--health-retries", type=int, default=None, help="consecutive failures to report unhealthy")
    p.add_argument("--health-start-period", default=None, help="start period for the container to initialize")
    p.add_argument("--health-start-interval", default=None, help="time between checks during the start period")
    p.add_argument("--no-healthcheck", action="store_true", help="disable any container-specified HEALTHCHECK")
    p.add_argument("--network", "--net", dest="network", default="bridge",
                   help="connect a container to a network (bridge, none, host, container:NAME)")
    p.add_argument("--network-alias", action="append", default=[], help="network-scoped alias")
    p.add_argument("-p", "--publish", action="append", default=[], help="publish a port ([IP:]HOST:CTR[/PROTO])")
    p.add_argument("--dns", action="append", default=[], help="set custom DNS servers")
    p.add_argument("--dns-search", action="append", default=[], help="set custom DNS search domains")
    p.add_argument("--dns-option", action="append", default=[], help="set DNS options")
    p.add_argument("--add-host", action="append", default=[], help="add a custom host-to-IP mapping (host:ip)")
    p.add_argument("--pid", default=None, help="PID namespace to use (host, container:NAME)")
    p.add_argument("--ipc", default=None, help="IPC mode to use (private, shareable, host, container:NAME)")
    p.add_argument("--uts", default=None, help="UTS namespace to use (host)")
    p.add_argument("--cgroupns", default=None, choices=("host", "private"), help="cgroup namespace to use")
    p.add_argument("--cgroup-parent", default=None, help="optional parent cgroup for the container")
    p.add_argument("--userns", default=None, help="user namespace to use (host)")
    p.add_argument("--log-opt", action="append", default=[], help="log driver options (max-size, max-file)")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def _create_flags(p: argparse.ArgumentParser) -> None:
    _add_create_flags(p, run=False)


def _run_flags(p: argparse.ArgumentParser) -> None:
    _add_create_flags(p, run=True)


def _attach_flags(p: argparse.ArgumentParser) -> None:
    from compose.cli.attach import add_attach_flags

    add_attach_flags(p)
    p.add_argument("container", metavar="CONTAINER")


# (name, help, aliases, adds its arguments), in the order `hoist container --help` lists them.
_SUBCOMMAND_PARSERS: tuple[tuple[str, str, list[str], Callable[[argparse.ArgumentParser], None]], ...] = (
    ("create", "Create a new container", [], _create_flags),
    ("run", "Create and run a new container", [], _run_flags),
    ("start", "Start one or more stopped containers", [], _start_flags),
    ("stop", "Stop one or more running containers", [], _stop_flags),
    ("restart", "Restart one or more containers", [], _stop_flags),
    ("kill", "Kill one or more running containers", [], _kill_flags),
    ("pause", "Pause all processes within one or more containers", [], _containers),
    ("unpause", "Unpause all processes within one or more containers", [], _containers),
    ("rm", "Remove one or more containers", [], _rm_flags),
    ("inspect", "Display detailed information on one or more containers", [], _containers),
    ("ls", "List containers", ["ps", "list"], _ls_flags),
    ("logs", "Fetch the logs of a container", [], _logs_flags),
    ("exec", "Execute a command in a running container", [], _exec_flags),
    ("top", "Display the running processes of a container", [], _container_flag),
    ("stats", "Display a live stream of container(s) resource usage statistics", [], _stats_flags),
    ("wait", "Block until one or more containers stop, then print their exit codes", [], _containers),
    ("port", "List port mappings or a specific mapping for the container", [], _port_flags),
    ("prune", "Remove all stopped containers", [], _prune_flags),
    ("attach", "Attach local standard input, output, and error streams to a running container", [],
     _attach_flags),
    ("commit", "Create a new image from a container's changes", [], lambda p: _fs().add_commit_flags(p)),
    ("export", "Export a container's filesystem as a tar archive", [], lambda p: _fs().add_export_flags(p)),
    ("cp", "Copy files/folders between a container and the local filesystem", [],
     lambda p: _fs().add_cp_flags(p)),
)


# ------------------------------------------------------------------------------------------- parsing


def parse_size(text: str | None, what: str) -> int | None:
    from runtime.errors import InvalidSpec

    if text is None:
        return None
    raw = str(text).strip().lower()
    if raw == "-1":
        return -1
    digits = raw.rstrip("bkmgt")
    unit = raw[len(digits):]
    try:
        return int(float(digits) * _SIZE_UNITS[unit])
    except (ValueError, KeyError):
        raise InvalidSpec(f"invalid size {text!r} for {what}", hint="use a number with b, k, m or g") from None


def parse_duration(text: str | None, what: str) -> float | None:
    """Go durations as docker takes them: 1h2m3s, 500ms, 1.5s; a bare number is seconds."""
    import re

    from runtime.errors import InvalidSpec

    if text is None:
        return None
    raw = text.strip()
    try:
        return float(raw)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", raw)
    if not parts or "".join(a + b for a, b in parts) != raw:
        raise InvalidSpec(f"invalid duration {text!r} for {what}", hint="use e.g. 30s, 1m30s or 500ms")
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    return sum(float(a) * scale[b] for a, b in parts)


def log_time(text: str | None, what: str) -> str | None:
    """docker's --since/--until: an RFC 3339 time, a Unix timestamp, or a duration back from now (10m)."""
    import re
    import time as _time

    from runtime.logs import rfc3339_nano

    if text is None:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return rfc3339_nano(int(float(text) * 1e9))
    if re.fullmatch(r"(\d+(\.\d+)?(h|m|s|ms))+", text):
        return rfc3339_nano(_time.time_ns() - int((parse_duration(text, what) or 0) * 1e9))
    if re.fullmatch(r"\d{4}-\d\d-\d\d(T[\d:.]+Z?)?", text):
        return text
    from runtime.errors import InvalidSpec

    raise InvalidSpec(f"invalid {what} {text!r}", hint="use an RFC 3339 time, a Unix timestamp or a duration (10m)")


def _key_values(items: list[str], what: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """KEY=VALUE items; a bare ``-e NAME`` takes NAME from ``environ`` (the caller's: the run server passes
    its client's)."""
    environ = os.environ if environ is None else environ
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            value = environ.get(key, "") if what == "env" else ""
            if what == "env" and key not in environ:
                continue  # docker: -e NAME with NAME unset passes nothing
        out[key] = value
    return out


def _env_files(paths: list[str]) -> dict[str, str]:
    from runtime.errors import NotFound

    out: dict[str, str] = {}
    for path in paths:
        try:
            lines = open(path, encoding="utf-8").read().splitlines()
        except OSError as exc:
            raise NotFound(f"env file {path}: {exc.strerror}") from None
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                out.update(_key_values([line], "env"))
    return out


def _volumes(specs: list[str]) -> list[Any]:
    from runtime.api import Mount
    from runtime.errors import InvalidSpec

    mounts = []
    for spec in specs:
        parts = spec.split(":")
        if len(parts) == 1:
            mounts.append(Mount(type="volume", target=parts[0]))
            continue
        if len(parts) > 3:
            raise InvalidSpec(f"invalid volume specification {spec!r}", hint="use SRC:DST[:OPTIONS]")
        source, target = parts[0], parts[1]
        opts = parts[2].split(",") if len(parts) == 3 else []
        read_only = "ro" in opts
        propagation = next((o for o in opts if o in ("private", "rprivate", "shared", "rshared", "slave",
                                                      "rslave")), "")
        if source.startswith(("/", ".", "~")):
            mounts.append(Mount(type="bind", source=os.path.abspath(os.path.expanduser(source)), target=target,
                                read_only=read_only, propagation=propagation))
        else:
            mounts.append(Mount(type="volume", source=source, target=target, read_only=read_only,
                                nocopy="nocopy" in opts))
    return mounts


def _tmpfs(specs: list[str]) -> list[Any]:
    from runtime.api import Mount

    out = []
    for spec in specs:
        target, _, opts = spec.partition(":")
        size = mode = None
        read_only = False
        for opt in filter(None, opts.split(",")):
            key, _, value = opt.partition("=")
            if key == "size":
                size = parse_size(value, "tmpfs size")
            elif key == "mode":
                mode = int(value, 8)
            elif key == "ro":
                read_only = True
        out.append(Mount(type="tmpfs", target=target, tmpfs_size=size, tmpfs_mode=mode, read_only=read_only))
    return out


def _ports(specs: list[str]) -> list[Any]:
    from runtime.api import PortBinding
    from runtime.errors import InvalidSpec

    out = []
    for spec in specs:
        body, _, proto = spec.partition("/")
        parts = body.rsplit(":", 2)
        try:
            if len(parts) == 1:
                out.append(PortBinding(container_port=int(parts[0]), protocol=proto or "tcp"))  # type: ignore[arg-type]
            elif len(parts) == 2:
                out.append(PortBinding(container_port=int(parts[1]), host_port=int(parts[0] or 0),
                                       protocol=proto or "tcp"))  # type: ignore[arg-type]
            else:
                out.append(PortBinding(container_port=int(parts[2]), host_port=int(parts[1] or 0),
                                       host_ip=parts[0].strip("[]"), protocol=proto or "tcp"))  # type: ignore[arg-type]
        except ValueError:
            raise InvalidSpec(f"invalid port specification {spec!r}", hint="use [IP:]HOST:CONTAINER[/PROTO]") from None
    return out


def _ulimits(specs: list[str]) -> list[Any]:
    from runtime.api import Ulimit
    from runtime.errors import InvalidSpec

    out = []
    for spec in specs:
        name, _, values = spec.partition("=")
        soft, _, hard = values.partition(":")
        try:
            out.append(Ulimit(name=name, soft=int(soft), hard=int(hard or soft)))
        except ValueError:
            raise InvalidSpec(f"invalid ulimit {spec!r}", hint="use NAME=SOFT[:HARD], e.g. nofile=1024:2048") from None
    return out


def _console_size() -> tuple[int, int] | None:
    """The user's window for a ``-t`` container's pty at start (docker's ConsoleSize)."""
    from compose.cli.terminal import terminal_size

    return terminal_size()


def _restart(text: str) -> Any:
    from runtime.api import RestartPolicy
    from runtime.errors import InvalidSpec

    name, _, count = text.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped") or (count and name != "on-failure"):
        raise InvalidSpec(f"invalid restart policy {text!r}",
                          hint="use no, always, unless-stopped or on-failure[:max-retries]")
    return RestartPolicy(name=name, max_retries=int(count) if count else 0)  # type: ignore[arg-type]


def _healthcheck(args: argparse.Namespace) -> Any:
    from runtime.api import Healthcheck

    if args.no_healthcheck:
        return Healthcheck(test=["NONE"])
    if args.health_cmd is None:
        return None
    defaults = Healthcheck(test=[])
    return Healthcheck(
        test=["CMD-SHELL", args.health_cmd],
        interval=parse_duration(args.health_interval, "--health-interval") or defaults.interval,
        timeout=parse_duration(args.health_timeout, "--health-timeout") or defaults.timeout,
        start_period=parse_duration(args.health_start_period, "--health-start-period") or 0.0,
        start_interval=parse_duration(args.health_start_interval, "--health-start-interval") or defaults.start_interval,
        retries=args.health_retries or defaults.retries)


def spec_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Any:
    import shlex

    from runtime.api import ContainerSpec, EndpointSpec, Resources
    from runtime.errors import InvalidSpec

    env = _env_files(args.env_file)
    env.update(_key_values(args.env, "env", environ))
    log_opts = _key_values(args.log_opt, "log-opt")
    entrypoint = None
    if args.entrypoint is not None:
        entrypoint = shlex.split(args.entrypoint) if args.entrypoint else []
    if args.userns not in (None, "", "host"):
        raise InvalidSpec(f"invalid user namespace mode {args.userns!r}",
                          hint='the only mode is "host": hoist never remaps users')
    networks = []
    if args.network not in ("bridge", "none", "host", "default") and not args.network.startswith("container:"):
        networks = [EndpointSpec(network=args.network, aliases=list(args.network_alias))]
    return ContainerSpec(
        name=args.name, image=args.image, entrypoint=entrypoint, command=list(args.command) or None,
        env=env, working_dir=args.workdir, user=args.user, group_add=args.group_add, hostname=args.hostname,
        domainname=args.domainname, labels=_key_values(args.label, "label"),
        annotations=_key_values(args.annotation, "annotation"),
        mounts=_volumes(args.volume) + _tmpfs(args.tmpfs), read_only=args.read_only,
        resources=Resources(memory=parse_size(args.memory, "--memory"),
                            memory_reservation=parse_size(args.memory_reservation, "--memory-reservation"),
                            memory_swap=parse_size(args.memory_swap, "--memory-swap"), cpus=args.cpus,
                            cpu_shares=args.cpu_shares, cpuset_cpus=args.cpuset_cpus, cpuset_mems=args.cpuset_mems,
                            pids_limit=args.pids_limit,
                            mem_swappiness=args.memory_swappiness if args.memory_swappiness != -1 else None,
                            oom_kill_disable=args.oom_kill_disable),
        cap_add=args.cap_add, cap_drop=args.cap_drop, privileged=args.privileged, security_opt=args.security_opt,
        ulimits=_ulimits(args.ulimit), sysctls=_key_values(args.sysctl, "sysctl"),
        oom_score_adj=args.oom_score_adj, init=args.init, shm_size=parse_size(args.shm_size, "--shm-size"),
        stop_signal=args.stop_signal,
        stop_grace_period=args.stop_timeout if args.stop_timeout is not None else 10.0,
        restart=_restart(args.restart), healthcheck=_healthcheck(args), tty=args.tty,
        console_size=_console_size() if args.tty else None,
        stdin_open=args.interactive,
        # As docker run: an attached run -i closes the container's stdin at the end of ours (StdinOnce);
        # create and run -d leave it open for whoever attaches.
        stdin_once=args.interactive and hasattr(args, "detach") and not args.detach,
        network_mode="bridge" if networks or args.network == "default" else args.network,
        networks=networks, ports=_ports(args.publish), dns=args.dns, dns_search=args.dns_search,
        dns_opt=args.dns_option,
        extra_hosts=[tuple(h.replace("=", ":", 1).split(":", 1)) for h in args.add_host],  # type: ignore[misc]
        pid_mode=args.pid, ipc_mode=args.ipc, uts_mode=args.uts, cgroupns_mode=args.cgroupns,
        cgroup_parent=args.cgroup_parent, devices=list(args.device),
        device_cgroup_rules=list(args.device_cgroup_rule),
        log_max_size=parse_size(log_opts.get("max-size"), "max-size"),
        log_max_files=int(log_opts.get("max-file", "1")))


# ------------------------------------------------------------------------------------------ commands


def run(args: argparse.Namespace) -> int:
    from runtime.engine import open_engine

    engine = open_engine()
    cmd = args.container_command
    handler = {"list": "ls", "ps": "ls"}.get(cmd, cmd)
    return int(globals()[f"_cmd_{handler}"](engine, args) or 0)


def _cmd_create(engine: Any, args: argparse.Namespace) -> int:
    state = engine.container_create(spec_from_args(args))
    print(state.id)
    return 0


def _cmd_run(engine: Any, args: argparse.Namespace) -> int:
    state = engine.container_create(spec_from_args(args))
    if args.detach:
        try:
            _start_as_run(engine, state.id, engine.container_start)
        except BaseException:
            if args.rm:
                engine.container_remove(state.id, force=True)
            raise
        print(state.id)
        return 0
    return run_created(engine, state.id, rm=args.rm, tty=args.tty, stdin=args.interactive)


def run_created(engine: Any, container_id: str, *, rm: bool, tty: bool = False, stdin: bool = False,
                write: Callable[[str, str], None] | None = None, client: Any = None) -> int:
    """The attached part of ``container run``: start, relay the output, the exit code; ``--rm`` removes the
    container whatever happens (an error, ^C, a closed pipe). The run server calls this too, with ``write``
    sending the output to its client and ``client`` watched for the client's ^C (see ``_stream_until_exit``)."""
    try:
        return _start_as_run(engine, container_id, lambda cid: _run_attached(engine, cid, tty=tty, stdin=stdin,
                                                                              write=write, client=client))
    finally:
        if rm:
            engine.container_remove(container_id, force=True, volumes=True)


def resume_run(engine: Any, container_id: str, *, rm: bool, relayed: int) -> int:
    """The rest of an attached run whose run server went away in the middle (compose.cli.fastrun): the output
    after the ``relayed`` log records the client already wrote, the exit code, and ``--rm``'s removal. A
    container the server created but did not start yet is started here, as the run would have been."""
    state = engine.container_inspect(container_id)
    if state.status == "created" and not state.started_at:
        return run_created(engine, container_id, rm=rm)
    try:
        for index, rec in enumerate(engine.container_logs(container_id, follow=True)):
            if index >= relayed:
                _write_std(rec.stream, rec.text)
        return int(engine.container_wait(container_id))
    finally:
        if rm:
            engine.container_remove(container_id, force=True, volumes=True)


def _start_as_run(engine: Any, container_id: str, start: Callable[[str], Any]) -> Any:
    """``start(container_id)``; a start that fails exits as ``docker run`` does: 126 when the command cannot be
    invoked, 127 when it is not found (the codes the supervisor recorded), else 125."""
    from runtime.errors import SetupError

    try:
        return start(container_id)
    except SetupError as exc:
        try:
            recorded = engine.container_inspect(container_id).exit_code
        except Exception:  # noqa: BLE001 - the start's own error is the one to report
            recorded = 0
        exc.exit_code = recorded if recorded in (126, 127) else 125  # type: ignore[attr-defined]
        raise


def _run_attached(engine: Any, container_id: str, tty: bool, stdin: bool = False,
                  write: Callable[[str, str], None] | None = None, client: Any = None) -> int:
    from runtime.engine import read_exit

    conn = engine.container_start_attached(container_id)
    try:
        if tty:
            from compose.cli.terminal import attach_tty

            if not attach_tty(engine.root, container_id):
                _stream_until_exit(engine, container_id, conn, write, client)
        else:
            if stdin:
                from compose.cli.terminal import forward_stdin

                forward_stdin(engine.root, container_id)
            _stream_until_exit(engine, container_id, conn, write, client)
        final = read_exit(conn)
    finally:
        conn.close()
    if final is None or "exited" not in final:
        return engine.container_inspect(container_id).exit_code
    return int(final["exited"])


def _write_std(stream: str, text: str) -> None:
    out = sys.stdout if stream == "stdout" else sys.stderr
    out.write(text)
    out.flush()


def _stream_until_exit(engine: Any, container_id: str, conn: Any,
                       write: Callable[[str, str], None] | None = None, client: Any = None) -> None:
    """Relay the container's log records until the supervisor reports the exit on ``conn``.

    ``client`` (the run server's connection to its CLI) is watched alongside: when it turns readable its
    ``on_readable()`` runs, which raises what the CLI process itself would have met (KeyboardInterrupt for
    ^C, BrokenPipeError for a closed stdout) or marks the client gone (``client.gone``: nothing more to
    watch; the run goes on to its end, and to its ``--rm``).
    """
    import select

    write = write or _write_std
    exited = False

    def running() -> bool:
        nonlocal exited
        if not exited:
            watched = [conn] if client is None or client.gone else [conn, client]
            ready = select.select(watched, [], [], 0.02)[0]
            if client is not None and client in ready:
                client.on_readable()
            exited = conn in ready
        return not exited

    from runtime.logs import log_path, read_logs

    for rec in read_logs(log_path(engine.container_dir(container_id)), follow=True, running=running, poll=0):
        write(rec["stream"], rec["text"])


def _cmd_start(engine: Any, args: argparse.Namespace) -> int:
    if args.attach:
        if len(args.containers) != 1:
            from runtime.errors import InvalidSpec

            raise InvalidSpec("you cannot start and attach multiple containers at once")
        state = engine.container_inspect(args.containers[0])
        return _run_attached(engine, state.id, tty=bool(state.spec and state.spec.tty),
                             stdin=bool(state.spec and state.spec.stdin_open))
    for ref in args.containers:
        engine.container_start(ref)
        print(ref)
    return 0


def _each_container(args: argparse.Namespace, action: Callable[[str], object]) -> int:
    """Apply ``action`` to each named container in turn, echoing its name as docker does."""
    for ref in args.containers:
        action(ref)
        print(ref)
    return 0


def _cmd_stop(engine: Any, args: argparse.Namespace) -> int:
    return _each_container(args, lambda ref: engine.container_stop(ref, timeout=args.timeout, signal=args.signal))


def _cmd_restart(engine: Any, args: argparse.Namespace) -> int:
    return _each_container(args, lambda ref: engine.container_restart(ref, timeout=args.timeout))


def _cmd_kill(engine: Any, args: argparse.Namespace) -> int:
    return _each_container(args, lambda ref: engine.container_kill(ref, signal=args.signal))


def _cmd_pause(engine: Any, args: argparse.Namespace) -> int:
    return _each_container(args, lambda ref: engine.container_pause(ref))


def _cmd_unpause(engine: Any, args: argparse.Namespace) -> int:
    return _each_container(args, lambda ref: engine.container_unpause(ref))


def _cmd_rm(engine: Any, args: argparse.Namespace) -> int:
    return _each_container(args, lambda ref: engine.container_remove(ref, force=args.force, volumes=args.volumes))


def _cmd_inspect(engine: Any, args: argparse.Namespace) -> int:
    from compose.cli.inspect_format import container_to_docker

    out = [container_to_docker(engine.container_inspect(ref)) for ref in args.containers]
    print(json.dumps(out, indent=4))
    return 0


def _cmd_ls(engine: Any, args: argparse.Namespace) -> int:
    from runtime.errors import InvalidSpec

    labels: dict[str, str | None] = {}
    names: list[str] = []
    statuses: list[str] = []
    for f in args.filter:
        key, _, value = f.partition("=")
        if key == "label":
            k, sep, v = value.partition("=")
            labels[k] = v if sep else None
        elif key == "name":
            names.append(value)
        elif key == "status":
            statuses.append(value)
        else:
            raise InvalidSpec(f"invalid filter {f!r}", hint="supported: label=KEY[=VALUE], name=NAME, status=STATUS")
    states = engine.container_list(labels=labels or None, all=args.all or bool(statuses))
    states = [s for s in states if (not names or any(n in s.name for n in names))
              and (not statuses or s.status in statuses)]
    if args.quiet:
        for s in states:
            print(s.id if args.no_trunc else s.id[:12])
        return 0
    if args.format == "json":
        for s in states:
            print(json.dumps({"ID": s.id[:12], "Names": s.name, "Image": s.image, "State": s.status,
                              "Status": _status_text(s), "Labels": s.labels}))
        return 0
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES")]
    for s in states:
        command = " ".join((s.spec.entrypoint or []) + (s.spec.command or [])) if s.spec else ""
        if not args.no_trunc and len(command) > 20:
            command = command[:19] + "…"
        rows.append((s.id if args.no_trunc else s.id[:12], s.image, json.dumps(command), s.created[:19],
                     _status_text(s), s.name))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _status_text(s: Any) -> str:
    if s.status in ("running", "paused"):
        text = f"Up since {s.started_at[:19]}"
        if s.status == "paused":
            text += " (Paused)"
        if s.health:
            text += f" ({s.health if s.health != 'starting' else 'health: starting'})"
        return text
    if s.status == "exited":
        return f"Exited ({s.exit_code}) at {s.finished_at[:19]}"
    return s.status.capitalize()


def _cmd_logs(engine: Any, args: argparse.Namespace) -> int:
    from runtime.errors import InvalidSpec

    tail = None
    if args.tail not in ("all", "-1"):
        try:
            tail = int(args.tail)
        except ValueError:
            raise InvalidSpec(f"invalid --tail {args.tail!r}", hint="a number of lines, or 'all'") from None
    for rec in engine.container_logs(args.container, follow=args.follow, tail=tail,
                                     since=log_time(args.since, "--since"), until=log_time(args.until, "--until")):
        stream = sys.stdout if rec.stream == "stdout" else sys.stderr
        stream.write(f"{rec.time} {rec.text}" if args.timestamps else rec.text)
        stream.flush()
    return 0


def _cmd_exec(engine: Any, args: argparse.Namespace) -> int:
    from runtime.api import ExecSpec
    from runtime.errors import InvalidSpec

    if not args.command:
        raise InvalidSpec("exec needs a command", hint="hoist container exec CONTAINER COMMAND [ARG...]")
    spec = ExecSpec(command=list(args.command), env=_key_values(args.env, "env"), user=args.user,
                    working_dir=args.workdir, tty=args.tty, privileged=args.privileged, detach=args.detach)
    if args.tty and not args.detach:
        from compose.cli.terminal import exec_tty

        return exec_tty(engine, args.container, spec)
    return engine.container_exec(args.container, spec)


def _cmd_top(engine: Any, args: argparse.Namespace) -> int:
    rows = engine.container_top(args.container)
    print(f"{'UID':<8} {'PID':<8} {'PPID':<8} CMD")
    for r in rows:
        print(f"{r['UID']:<8} {r['PID']:<8} {r['PPID']:<8} {r['CMD']}")
    return 0


def _cmd_stats(engine: Any, args: argparse.Namespace) -> int:
    """docker stats: the named containers (stopped ones too), else the running ones (all with -a)."""
    from compose.cli import statsview

    statsview.render([], args.format)  # a bad --format fails before the first second of sampling
    if args.containers:
        named = [(ref, ref) for ref in args.containers]

        def targets() -> list[tuple[str, str]]:
            return named
    else:
        def targets() -> list[tuple[str, str]]:
            return [(s.id, s.id) for s in engine.container_list(all=args.all)]

    return statsview.show(engine, targets, no_stream=args.no_stream, fmt=args.format, trunc=not args.no_trunc)


def _cmd_prune(engine: Any, args: argparse.Namespace) -> int:
    labels = {}
    for f in args.filter:
        key, _, value = f.partition("=")
        if key == "label":
            k, sep, v = value.partition("=")
            labels[k] = v if sep else None
    removed = engine.container_prune(labels=labels or None)
    if removed:
        print("Deleted Containers:")
        for cid in removed:
            print(cid)
    print(f"\nTotal reclaimed: {len(removed)} container(s)")
    return 0


def _cmd_port(engine: Any, args: argparse.Namespace) -> int:
    """docker port: every mapping as ``80/tcp -> 0.0.0.0:32768``, or the host addresses of one private port."""
    from runtime.errors import InvalidSpec, NotFound
    from runtime.network.ports import format_port_mappings

    port: int | None = None
    proto: str | None = None
    if args.private_port is not None:
        text, _, proto = args.private_port.partition("/")
        proto = (proto or "tcp").lower()
        if not text.isdigit() or not 0 < int(text) < 65536 or proto not in ("tcp", "udp", "sctp"):
            raise InvalidSpec(f"invalid port {args.private_port!r}",
                              hint="give a container port as PORT or PORT/PROTO, e.g. 80 or 53/udp")
        port = int(text)
    state = engine.container_inspect(args.container)
    lines = format_port_mappings(state.ports, port, proto)
    if port is not None and not lines:
        raise NotFound(f"no public port '{port}/{proto}' published for {state.name}",
                       hint=f"list its published ports with: hoist container port {state.name}")
    for line in lines:
        print(line)
    return 0


def _cmd_wait(engine: Any, args: argparse.Namespace) -> int:
    for ref in args.containers:
        print(engine.container_wait(ref))
    return 0


def _cmd_attach(engine: Any, args: argparse.Namespace) -> int:
    from compose.cli.attach import AttachOptions, attach

    return attach(engine, args.container, AttachOptions(no_stdin=args.no_stdin, sig_proxy=args.sig_proxy,
                                                         detach_keys=args.detach_keys))


# commit, export, cp: compose/cli/commands/container_fs.py
def _fs() -> Any:
    from compose.cli.commands import container_fs

    return container_fs


def _cmd_commit(engine: Any, args: argparse.Namespace) -> int:
    return int(_fs().cmd_commit(engine, args))


def _cmd_export(engine: Any, args: argparse.Namespace) -> int:
    return int(_fs().cmd_export(engine, args))


def _cmd_cp(engine: Any, args: argparse.Namespace) -> int:
    return int(_fs().cmd_cp(engine, args))
