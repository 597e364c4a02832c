"""hoist exec: run a command in a running service container; its exit code is ours."""

from __future__ import annotations

import argparse

HELP = "Execute a command in a running container"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--detach", action="store_true", help="detached mode: run command in the background")
    parser.add_argument("-e", "--env", action="append", default=None, metavar="KEY=VAL",
                        help="set environment variables")
    parser.add_argument("--index", type=int, default=1, help="index of the container if service has multiple "
                        "replicas")
    parser.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true",
                        help="disable pseudo-TTY allocation (default: auto-detected)")
    parser.add_argument("--privileged", action="store_true", help="give extended privileges to the process")
    parser.add_argument("-u", "--user", default=None, help="run the command as this user")
    parser.add_argument("-w", "--workdir", default=None, help="path to workdir directory for this command")
    parser.add_argument("-i", "--interactive", action="store_true", default=True, help=argparse.SUPPRESS)
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND")


def run(args: argparse.Namespace) -> int:
    import sys

    from compose.cli.commands._pick import service_container
    from compose.cli.projectctx import parse_env, project_context
    from compose.errors import UsageError
    from runtime.api import ExecSpec

    if not args.command:
        raise UsageError("exec needs a command", hint="hoist exec SERVICE COMMAND [ARGS...]")
    ctx = project_context(args, need_file=False)
    c = service_container(ctx, args.service, args.index)
    tty = not args.no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    spec = ExecSpec(command=list(args.command), env=parse_env(args.env), user=args.user,
                    working_dir=args.workdir, tty=tty, privileged=args.privileged, detach=args.detach)
    return ctx.engine.container_exec(c.name, spec)
