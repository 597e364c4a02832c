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
    """The project as `down` needs it: its name and outline (compose.outline), with the checks and errors of
    the full load (a load-cache miss validates the whole project, model included), but without building the
    model when the cache already vouches for the files — all of it before the first stop signal."""
    from compose.cli import projectopts
    from compose.cli.projectctx import ProjectContext, open_engine
    from compose.errors import FileNotFound, UsageError
    from compose.outline import ProjectOutline
    from compose.project import check_project

    outline = None
    name = getattr(args, "project_name", None) or os.environ.get("COMPOSE_PROJECT_NAME")
    try:
        loaded = check_project(projectopts.load_options(args))
        name = loaded.name
        outline = ProjectOutline.from_document(loaded.document, loaded.disabled)
    except FileNotFound:
        if not name:
            raise
    if not name:
        raise UsageError("no project name", hint="pass -p NAME")
    if outline is not None:
        for service in args.services:
            if service not in outline.known:
                raise UsageError(f"no such service: {service}")
    return ProjectContext(args, name, None, open_engine(), outline=outline)
