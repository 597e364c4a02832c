"""hoist build: build the images of the services that have a ``build:`` section."""

from __future__ import annotations

import argparse

HELP = "Build or rebuild services"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="do not use cache when building the image")
    parser.add_argument("--pull", action="store_true", help="always attempt to pull a newer version of the image")
    parser.add_argument("--build-arg", action="append", default=None, metavar="KEY=VAL",
                        help="set build-time variables for services")
    parser.add_argument("-q", "--quiet", action="store_true", help="don't print anything to STDOUT")
    parser.add_argument("--with-dependencies", action="store_true", help="also build dependencies (transitively)")
    parser.add_argument("--push", action="store_true", help="push service images")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose import convert
    from compose.cli.projectctx import parse_env, progress, project_context
    from compose.events import Reporter
    from compose.imagesync import ImagePolicy, build_service, push_image
    from compose.orchestrator import select_services

    ctx = project_context(args)
    project = ctx.require_project()
    names = select_services(project, args.services, with_deps=args.with_dependencies)
    policy = ImagePolicy(build=True, pull="always" if args.pull else None, no_cache=args.no_cache,
                         build_args=tuple(parse_env(args.build_arg).items()), quiet=args.quiet)
    with progress(args, "Building") as sink:
        for name in names:
            svc = project.services[name]
            if svc.build is not None:
                build_service(ctx.engine, project, svc, policy, Reporter(sink))
                if args.push:  # the image and its build tags, as compose's build --push
                    for ref in dict.fromkeys([convert.image_name(project, svc), *svc.build.tags]):
                        push_image(ctx.engine, ref, Reporter(sink))
    return 0
