"""hoist export: a service container's filesystem as a tar archive, as docker compose export."""

from __future__ import annotations

import argparse

HELP = "Export a service container's filesystem as a tar archive"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=int, default=0,
                        help="index of the container if service has multiple replicas")
    parser.add_argument("-o", "--output", default=None, help="write to a file, instead of STDOUT")
    parser.add_argument("service", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._pick import service_container
    from compose.cli.commands.container_fs import write_tar_output
    from compose.cli.projectctx import project_context

    ctx = project_context(args, need_file=False)
    c = service_container(ctx, args.service, args.index or None, running=False)
    write_tar_output(args.output, lambda out: ctx.engine.container_export(c.id, out))
    return 0
