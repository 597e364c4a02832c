"""hoist restart: restart the project's containers in dependency order."""

from __future__ import annotations

import argparse

HELP = "Restart service containers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--timeout", type=float, default=None, metavar="SECONDS",
                        help="specify a shutdown timeout in seconds")
    parser.add_argument("--no-deps", action="store_true", help="don't restart dependent services")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._simple import run_lifecycle

    return run_lifecycle(args, "Restarting", lambda o: o.restart(args.services, timeout=args.timeout))
