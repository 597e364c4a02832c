"""hoist scale: set the number of containers of services (without recreating the others)."""

from __future__ import annotations

import argparse

HELP = "Scale services"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-deps", action="store_true", help="don't start linked services")
    parser.add_argument("scale", nargs="+", metavar="SERVICE=REPLICAS")


def run(args: argparse.Namespace) -> int:
    from compose.cli.projectctx import fail_on, parse_scale, progress, project_context
    from compose.events import Reporter
    from compose.imagesync import ImagePolicy, ensure_images
    from compose.lock import project_lock
    from compose.orchestrator import UpOptions, select_services

    scale = parse_scale(args.scale)
    ctx = project_context(args)
    project = ctx.require_project()
    opts = UpOptions(services=list(scale), no_deps=args.no_deps, no_recreate=True, scale=scale)
    with project_lock(ctx.root, ctx.name), progress(args, "Running") as sink:
        ensure_images(ctx.engine, project, select_services(project, opts.services, with_deps=not args.no_deps),
                      ImagePolicy(), Reporter(sink))
        result = ctx.orchestrator(sink).up(opts)
    fail_on(result.outcome, "scale")
    return 0
