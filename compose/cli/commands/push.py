"""hoist push: push the images of the project's services to their registries."""

from __future__ import annotations

import argparse

HELP = "Push service images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ignore-push-failures", action="store_true", help="push what it can and ignores "
                        "images with push failures")
    parser.add_argument("--include-deps", action="store_true", help="also push images of services declared as "
                        "dependencies")
    parser.add_argument("-q", "--quiet", action="store_true", help="push without printing progress information")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose import convert
    from compose.cli.projectctx import progress, project_context
    from compose.events import Reporter
    from compose.imagesync import push_image
    from compose.orchestrator import select_services
    from runtime.errors import RuntimeErrorBase

    ctx = project_context(args)
    project = ctx.require_project()
    with progress(args, "Pushing") as sink:
        rep = Reporter(sink)
        for name in select_services(project, args.services, with_deps=args.include_deps):
            svc = project.services[name]
            if svc.image is None:
                continue  # compose pushes only services that name their image
            try:
                push_image(ctx.engine, convert.image_name(project, svc), rep)
            except RuntimeErrorBase:
                if not args.ignore_push_failures:
                    raise
    return 0
