"""hoist attach: attach our terminal to a service's running container's main process (compose/cli/attach.py);
the exit code is the container's, as docker compose attach's."""

from __future__ import annotations

import argparse

HELP = "Attach local standard input, output, and error streams to a service's running container"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compose.cli.attach import add_attach_flags

    parser.add_argument("--index", type=int, default=0,
                        help="index of the container if service has multiple replicas (default: the first)")
    add_attach_flags(parser)
    parser.add_argument("service", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose import labels as L
    from compose.cli.attach import AttachOptions, attach, parse_detach_keys
    from compose.cli.projectctx import light_context
    from compose.errors import UsageError
    from compose.listing import project_containers

    parse_detach_keys(args.detach_keys)  # a bad sequence is refused before anything else
    ctx = light_context(args)
    if ctx.known is not None and args.service not in ctx.known:
        raise UsageError(f"no such service: {args.service}")
    containers = project_containers(ctx.engine, ctx.name, services=[args.service], oneoff=None, all=True)
    if args.index > 0:
        containers = [c for c in containers if L.container_number(c.labels) == args.index]
    # compose's choice: by replica number, one-off containers last
    containers.sort(key=lambda c: (c.labels.get(L.ONEOFF) == L.TRUE, L.container_number(c.labels)))
    running = [c for c in containers if c.status == "running"]
    if not containers:
        which = f" container #{args.index}" if args.index > 0 else ""
        raise UsageError(f'service "{args.service}" is not running{which}',
                         hint=f"start it first: hoist up -d {args.service}")
    target = running[0] if running else containers[0]  # not running: docker's refusal, from attach()
    options = AttachOptions(no_stdin=args.no_stdin, sig_proxy=args.sig_proxy, detach_keys=args.detach_keys)
    return attach(ctx.engine, target.id, options)
