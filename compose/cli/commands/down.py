"""hoist down: stop and remove the project's containers (reverse dependency order) and networks; its
volumes with -v, its images with --rmi. Works from the project name alone, without the compose file."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compose.cli.projectctx import ProjectContext

HELP = "Stop and remove containers, networks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--volumes", action="store_true",
                        help="remove named volumes declared in the volumes section and anonymous volumes")
    parser.add_argument("--rmi", choices=("local", "all"), default=None,
                        help='remove images used by services ("local": only images without a custom tag)')
    parser.add_argument("--remove-orphans", action="store_true",
                        default=os.environ.get("COMPOSE_REMOVE_ORPHANS", "").lower() in ("1", "true"),
                        help="remove containers for services not defined in the compose file")
    parser.add_argument("-t", "--timeout", type=float, default=None, metavar="SECONDS",
                        help="specify a shutdown timeout in seconds")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.projectctx import check_services, fail_on, progress, project_context
    from compose.lock import project_lock

    if args.rmi:
        ctx = project_context(args, need_file=False)  # the images to remove are named by the typed model
        check_services(ctx, args.services)
    else:
        ctx = outline_context(args)
    with project_lock(ctx.root, ctx.name), progress(args, "Running") as sink:
        outcome = ctx.orchestrator(sink).down(remove_orphans=args.remove_orphans, volumes=args.volumes,
                                              rmi=args.rmi, timeout=args.timeout, services=args.services)
    fail_on(outcome, "down")
    return 0


def outline_context(args: argparse.Namespace) -> ProjectContext:
    """The project as `down` needs it: its name and outline (compose.outline), all of it before the first stop
    signal (see light_context)."""
    from compose.cli.projectctx import ProjectContext, light_context
    from compose.errors import UsageError

    light = light_context(args)
    if light.known is not None:
        for service in args.services:
            if service not in light.known:
                raise UsageError(f"no such service: {service}")
    return ProjectContext(args, light.name, None, light.engine, outline=light.outline)
