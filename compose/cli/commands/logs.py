"""hoist logs: the output of the project's containers, prefixed ``service-n | ``, followed with -f."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.api import ContainerState

HELP = "View output from containers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="follow log output")
    parser.add_argument("-n", "--tail", default="all", help='number of lines to show from the end of the logs '
                        'for each container (default "all")')
    parser.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    parser.add_argument("--since", default=None, help="show logs since timestamp or relative (e.g. 42m)")
    parser.add_argument("--until", default=None, help="show logs before a timestamp or relative (e.g. 42m)")
    parser.add_argument("--no-color", action="store_true", help="produce monochrome output")
    parser.add_argument("--no-log-prefix", action="store_true", help="don't print prefix in logs")
    parser.add_argument("--index", type=int, default=None, help="index of the container if service has "
                        "multiple replicas")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def _tail(value: str) -> int | None:
    from compose.errors import UsageError

    if value in ("all", "-1", ""):
        return None
    if not value.isdigit():
        raise UsageError(f"invalid --tail value {value!r}", hint='a number of lines or "all"')
    return int(value)


def run(args: argparse.Namespace) -> int:
    import sys
    import threading

    from compose import labels as L
    from compose.attach import display_name
    from compose.cli.projectctx import check_services, project_context
    from compose.render.logs import LogPrinter

    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    containers = ctx.orchestrator().containers(services=args.services, oneoff=None)
    if args.index is not None:
        containers = [c for c in containers if L.container_number(c.labels) == args.index]
    colour = not args.no_color and args.ansi != "never" and (sys.stdout.isatty() or args.ansi == "always")
    printer = LogPrinter(sys.stdout, colour=colour, prefix=not args.no_log_prefix, timestamps=args.timestamps)
    for c in containers:
        printer.register(display_name(c))
    tail = _tail(args.tail)
    from compose.timefilter import parse_time_filter

    args.since, args.until = parse_time_filter(args.since), parse_time_filter(args.until)
    if not args.follow:
        records = []
        for c in containers:
            for r in ctx.engine.container_logs(c.name, tail=tail, since=args.since, until=args.until):
                records.append((r.time, display_name(c), r))
        for _, name, r in sorted(records, key=lambda x: x[0]):
            printer.line(name, r.text, r.time)
        return 0

    def follow(c: ContainerState) -> None:
        name = display_name(c)
        for r in ctx.engine.container_logs(c.name, follow=True, tail=tail, since=args.since, until=args.until):
            printer.line(name, r.text, r.time)

    threads = [threading.Thread(target=follow, args=(c,), daemon=True) for c in containers]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    return 0
