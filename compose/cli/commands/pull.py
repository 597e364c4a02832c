"""hoist pull: pull the images of the project's services."""

from __future__ import annotations

import argparse

HELP = "Pull service images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="pull without printing progress information")
    parser.add_argument("--ignore-pull-failures", action="store_true", help="pull what it can and ignores images "
                        "with pull failures")
    parser.add_argument("--ignore-buildable", action="store_true", help="ignore images that can be built")
    parser.add_argument("--include-deps", action="store_true", help="also pull services declared as dependencies")
    parser.add_argument("--policy", choices=("missing", "always"), default="always",
                        help="apply pull policy (\"missing\"|\"always\")")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    import sys

    from compose import convert
    from compose.cli.projectctx import progress, project_context
    from compose.events import Reporter
    from compose.imagesync import pull_image
    from compose.orchestrator import select_services
    from runtime.errors import RuntimeErrorBase

    ctx = project_context(args)
    project = ctx.require_project()
    failed = 0
    with progress(args, "Pulling") as sink:
        rep = Reporter(sink)
        for name in select_services(project, args.services, with_deps=args.include_deps):
            svc = project.services[name]
            if svc.image is None or (svc.build is not None and args.ignore_buildable):
                continue
            ref = convert.image_name(project, svc)
            if args.policy == "missing" and ctx.engine.image_exists(ref):
                continue
            try:
                pull_image(ctx.engine, ref, rep, rid=name)
            except RuntimeErrorBase as exc:
                if svc.build is not None:
                    rep.warn(name, "Warning", f"pull failed, the image can be built: {exc}")
                    continue
                rep.error(name, "Error", str(exc))
                failed += 1
                if not args.ignore_pull_failures:
                    raise
    if failed:
        print(f"{failed} image(s) could not be pulled", file=sys.stderr)
    return 0
