"""hoist commit: a new image from a service container's changes, as docker compose commit."""

from __future__ import annotations

import argparse

HELP = "Create a new image from a service container's changes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from compose.cli.commands.container_fs import add_commit_options

    parser.add_argument("--index", type=int, default=0,
                        help="index of the container if service has multiple replicas")
    add_commit_options(parser)
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("repository", nargs="?", default=None, metavar="REPOSITORY[:TAG]")


def run(args: argparse.Namespace) -> int:
    from compose import events as ev
    from compose.cli.commands._pick import service_container
    from compose.cli.projectctx import progress, project_context

    ctx = project_context(args, need_file=False)
    c = service_container(ctx, args.service, args.index or None, running=False)
    with progress(args, "Committing") as sink:
        report = ev.Reporter(sink)
        rid = f"Container {c.name}"
        report.working(rid, "Committing")
        try:
            ctx.engine.container_commit(c.id, repository=args.repository, changes=list(args.change),
                                        message=args.message, author=args.author, pause=args.pause)
        except BaseException:
            report.error(rid, "Error")
            raise
        report.done(rid, "Committed")
    return 0
