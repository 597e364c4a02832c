"""hoist run: a one-off container for a service (``<project>-<service>-run-<id>``), its dependencies
started first; attached it prints the output and returns the command's exit code."""

from __future__ import annotations

import argparse
import posixpath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.api import Mount, PortBinding

HELP = "Run a one-off command on a service"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--detach", action="store_true", help="run container in background and print "
                        "container ID")
    parser.add_argument("--rm", action="store_true", help="automatically remove the container when it exits")
    parser.add_argument("-e", "--env", action="append", default=None, metavar="KEY=VAL",
                        help="set environment variables")
    parser.add_argument("--env-from-file", action="append", default=None, metavar="FILE",
                        help="set environment variables from file")
    parser.add_argument("--cap-add", action="append", default=None, metavar="CAP",
                        help="add Linux capabilities")
    parser.add_argument("--cap-drop", action="append", default=None, metavar="CAP",
                        help="drop Linux capabilities")
    parser.add_argument("--use-aliases", action="store_true",
                        help="use the service's network aliases in the network(s) the container connects to")
    parser.add_argument("--quiet-pull", action="store_true", help="pull without printing progress information")
    parser.add_argument("--quiet-build", action="store_true", help="suppress progress output from the build")
    parser.add_argument("-l", "--label", action="append", default=None, metavar="KEY=VAL",
                        help="add or override a label")
    parser.add_argument("--name", default=None, help="assign a name to the container")
    parser.add_argument("--entrypoint", default=None, help="override the entrypoint of the image")
    parser.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="disable pseudo-TTY allocation")
    parser.add_argument("-u", "--user", default=None, help="run as specified username or uid")
    parser.add_argument("-w", "--workdir", default=None, help="working directory inside the container")
    parser.add_argument("-v", "--volume", action="append", default=None, metavar="SRC:DST[:ro]",
                        help="bind mount a volume")
    parser.add_argument("-p", "--publish", action="append", default=None, metavar="[IP:]HOST:CONTAINER",
                        help="publish a container's port(s) to the host")
    parser.add_argument("-P", "--service-ports", action="store_true",
                        help="run command with all service's ports enabled and mapped to the host")
    parser.add_argument("--no-deps", action="store_true", help="don't start linked services")
    parser.add_argument("--build", action="store_true", help="build image before starting container")
    parser.add_argument("--pull", choices=("always", "missing", "never", "policy"), default="policy",
                        help="pull image before running")
    parser.add_argument("--remove-orphans", action="store_true", help="remove containers for services not "
                        "defined in the compose file")
    parser.add_argument("-i", "--interactive", action="store_true", default=True, help=argparse.SUPPRESS)
    parser.add_argument("-q", "--quiet", action="store_true", help="don't print anything to STDERR")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def _post_start(engine: Any, container: str, svc: Any, *, wait: bool = False) -> None:
    """The service's post_start hooks in the one-off container, once it runs (``wait``: the attached run
    starts it meanwhile). As compose's run, a failing hook is reported and the run goes on."""
    import sys
    import time

    from compose.errors import ComposeError
    from compose.hooks import run_hooks
    from runtime.errors import RuntimeErrorBase

    deadline = time.monotonic() + 30.0
    try:
        while wait:
            state = engine.container_inspect(container)
            if state.status == "running":
                break
            if state.status != "created" or time.monotonic() > deadline:
                return  # it ran and ended already (or never started): nothing to hook into
            time.sleep(0.005)
        run_hooks(engine, container, svc.name, svc.post_start, "post_start")
    except (ComposeError, RuntimeErrorBase) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """-e over --env-from-file, as compose's run: a file only adds what -e did not set (and may refer to it)."""
    from compose.cli.projectctx import parse_env

    env = parse_env(args.env)
    if args.env_from_file:
        from compose.dotenv import read_env_file

        for path in args.env_from_file:
            for key, value in read_env_file(path, env.get).items():
                env.setdefault(key, value)
    return env


def _ports(values: list[str] | None) -> list[PortBinding]:
    from compose.errors import UsageError
    from runtime.api import PortBinding

    out = []
    for item in values or []:
        spec, _, proto = item.partition("/")
        parts = spec.rsplit(":", 2)
        try:
            if len(parts) == 1:
                out.append(PortBinding(int(parts[0]), proto or "tcp"))  # type: ignore[arg-type]
            elif len(parts) == 2:
                out.append(PortBinding(int(parts[1]), proto or "tcp", "", int(parts[0] or 0)))  # type: ignore[arg-type]
            else:
                out.append(PortBinding(int(parts[2]), proto or "tcp", parts[0], int(parts[1] or 0)))  # type: ignore[arg-type]
        except ValueError as exc:
            raise UsageError(f"invalid --publish value {item!r}") from exc
    return out


def _volumes(values: list[str] | None, base: str) -> list[Mount]:
    import os

    from runtime.api import Mount

    out = []
    for item in values or []:
        fields = item.split(":")
        if len(fields) == 1:
            out.append(Mount(type="volume", target=fields[0]))
            continue
        src, dst = fields[0], fields[1]
        ro = len(fields) > 2 and "ro" in fields[2].split(",")
        if src.startswith((".", "/", "~")):
            src = os.path.abspath(os.path.join(base, os.path.expanduser(src)))
            out.append(Mount(type="bind", source=src, target=dst, read_only=ro))
        else:
            out.append(Mount(type="volume", source=src, target=dst, read_only=ro))
    return out


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import secrets
    import shlex
    import sys

    from compose import convert
    from compose.cli.projectctx import parse_env, progress, project_context
    from compose.events import Reporter
    from compose.imagesync import ImagePolicy, ensure_images
    from compose.orchestrator import UpOptions, dependencies

    ctx = project_context(args)
    project = ctx.require_project()
    if args.service not in project.services:
        from compose.errors import UsageError

        raise UsageError(f"no such service: {args.service}")
    svc = project.services[args.service]
    with progress(args, "Running") as sink:
        orch = ctx.orchestrator(sink)
        deps = [] if args.no_deps else [d.name for d in dependencies(project, svc)]
        ensure_images(ctx.engine, project, [args.service, *deps],
                      ImagePolicy(build=args.build, pull=args.pull, quiet=args.quiet_build), Reporter(sink))
        if deps:
            from compose.cli.projectctx import fail_on

            fail_on(orch.up(UpOptions(services=deps, remove_orphans=args.remove_orphans)).outcome, "run")
        # The dependencies' conditions must hold before the one-off starts, as for a service.
        from compose.conditions import make_waiter
        from compose.scheduler import ConditionFailed

        waiter = make_waiter(ctx.engine, ctx.name)
        import threading

        for d in (dependencies(project, svc) if not args.no_deps else []):
            try:
                waiter(d.name, d.condition, threading.Event())
            except ConditionFailed as exc:
                from compose.errors import DependencyFailed

                if d.required:
                    raise DependencyFailed(exc.reason) from None
    slug = secrets.token_hex(16)
    name = args.name or convert.oneoff_name(project, svc, slug)
    image_config = None
    try:
        image_config = ctx.engine.image_inspect(convert.image_name(project, svc)).config
    except Exception:  # noqa: BLE001 - the spec falls back to no inherited healthcheck
        pass
    spec = convert.container_spec(project, svc, 1, config_hash=project.service_hash(svc.name),
                                  image_config=image_config, name=name, oneoff=True, slug=slug,
                                  use_aliases=args.use_aliases,
                                  state_dir=ctx.root / "compose" / ctx.name)
    if svc.volumes_from:
        from compose.volumesfrom import with_volumes_from

        spec = with_volumes_from(ctx.engine, project, svc, spec)
    changes: dict[str, object] = {}
    if args.command:
        changes["command"] = list(args.command)
    if args.entrypoint is not None:
        changes["entrypoint"] = shlex.split(args.entrypoint)
        if not args.command:
            changes["command"] = []
    env = dict(spec.env)
    env.update(_environment(args))
    changes["env"] = env
    if args.cap_add:
        changes["cap_add"] = [*spec.cap_add, *args.cap_add]
    if args.cap_drop:
        changes["cap_drop"] = [*spec.cap_drop, *args.cap_drop]
    labels = dict(spec.labels)
    labels.update(parse_env(args.label))
    changes["labels"] = labels
    if args.user:
        changes["user"] = args.user
    if args.workdir:
        changes["working_dir"] = args.workdir
    ports = list(convert._ports(svc)) if args.service_ports else []
    changes["ports"] = ports + _ports(args.publish)
    extra = _volumes(args.volume, project.working_dir)
    overridden = {posixpath.normpath(m.target) for m in extra}  # -v wins where the service mounts something too
    changes["mounts"] = [m for m in spec.mounts if posixpath.normpath(m.target) not in overridden] + extra
    if not args.detach:
        # As docker compose run: a TTY unless -T or our stdin is not a terminal, whatever the service's
        # `tty:` says; stdin kept open (-i, on by default) and forwarded, so `hoist run web sh` is a shell
        # and `echo x | hoist run -T web cat` reads the pipe.
        changes["tty"] = not args.no_tty and sys.stdin.isatty()
        if changes["tty"]:
            from compose.cli.terminal import terminal_size

            changes["console_size"] = terminal_size()
        changes["stdin_open"] = bool(args.interactive)
        changes["stdin_once"] = bool(args.interactive)  # attached: stdin ends with ours, as docker compose run
    spec = dataclasses.replace(spec, **changes)  # type: ignore[arg-type]
    state = ctx.engine.container_create(spec)
    if args.detach:
        ctx.engine.container_start(name)
        if svc.post_start:
            _post_start(ctx.engine, name, svc)
        print(name)
        return 0
    if svc.post_start:  # compose runs them on the start event, beside the attached run
        import threading

        threading.Thread(target=_post_start, args=(ctx.engine, name, svc), kwargs={"wait": True},
                         name="hoist-post-start", daemon=True).start()
    from compose.cli.commands.container import _run_attached

    try:
        try:
            return _run_attached(ctx.engine, state.id, tty=bool(changes["tty"]), stdin=bool(args.interactive))
        except KeyboardInterrupt:
            ctx.engine.container_stop(state.id)
            raise
    finally:
        if args.rm:
            ctx.engine.container_remove(state.id, force=True, volumes=True)
