"""hoist start: start the project's existing containers, in dependency order."""

from __future__ import annotations

import argparse

HELP = "Start services"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait for services to be running|healthy")
    parser.add_argument("--wait-timeout", type=float, default=0, metavar="SECONDS",
                        help="maximum duration to wait for the project to be running|healthy")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._simple import run_lifecycle

    code = run_lifecycle(args, "Starting", lambda o: o.start(args.services))
    if code == 0 and args.wait:
        from compose.cli.projectctx import project_context
        from compose.conditions import wait_ready
        from compose.errors import OperationError

        ctx = project_context(args, need_file=False)
        containers = ctx.orchestrator().containers(services=args.services)
        failures = wait_ready(ctx.engine, containers, oneshot=set(), timeout=args.wait_timeout or None)
        if failures:
            raise OperationError("not every service became ready:\n  " + "\n  ".join(failures.values()))
    return code
