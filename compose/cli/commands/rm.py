"""hoist rm: remove the project's stopped containers (running ones too with -s)."""

from __future__ import annotations

import argparse
import sys

HELP = "Removes stopped service containers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="don't ask to confirm removal")
    parser.add_argument("-s", "--stop", action="store_true", help="stop the containers, if required, before removing")
    parser.add_argument("-v", "--volumes", action="store_true", help="remove any anonymous volumes attached to containers")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.projectctx import check_services, progress, project_context

    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    orch = ctx.orchestrator()
    stopped = [c for c in orch.containers(services=args.services, oneoff=None)
               if args.stop or c.status not in ("running", "restarting", "paused")]
    if not stopped:
        print("No stopped containers", file=sys.stderr)
        return 0
    if not args.force and sys.stdin.isatty():
        answer = input(f"Going to remove {', '.join(c.name for c in stopped)}\nAre you sure? [yN] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 0
    with progress(args, "Removing") as sink:
        ctx.orchestrator(sink).remove_stopped(args.services, stop=args.stop, volumes=args.volumes)
    return 0
