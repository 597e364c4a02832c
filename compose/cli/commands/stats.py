"""hoist stats: a live stream of the project's containers' resource usage (docker compose stats)."""

from __future__ import annotations

import argparse

HELP = "Display a live stream of container(s) resource usage statistics"


def add_stats_flags(parser: argparse.ArgumentParser) -> None:
    """docker stats' flags (shared with `hoist container stats`)."""
    parser.add_argument("-a", "--all", action="store_true", help="show all containers (default shows just running)")
    parser.add_argument("--no-stream", action="store_true",
                        help="disable streaming stats and only pull the first result")
    parser.add_argument("--no-trunc", action="store_true", help="do not truncate output")
    parser.add_argument("--format", default=None,
                        help='format output: "table", "json" or a Go template ({{.Name}}, {{json .}})')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stats_flags(parser)
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli import statsview
    from compose.cli.projectctx import light_context

    ctx = light_context(args)
    ctx.check_services(args.services)
    statsview.render([], args.format)  # a bad --format fails before the first second of sampling

    def targets() -> list[tuple[str, str]]:
        containers = ctx.containers(services=args.services, oneoff=None, all=True)
        return [(c.id, c.id) for c in containers
                if args.all or c.status in ("running", "paused", "restarting")]

    return statsview.show(ctx.engine, targets, no_stream=args.no_stream, fmt=args.format,
                          trunc=not args.no_trunc)
