"""hoist stop: stop the project's running containers in reverse dependency order, without removing them."""

from __future__ import annotations

import argparse

HELP = "Stop services"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--timeout", type=float, default=None, metavar="SECONDS",
                        help="specify a shutdown timeout in seconds")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._simple import run_lifecycle

    return run_lifecycle(args, "Stopping", lambda o: o.stop(args.services, timeout=args.timeout))
