"""hoist unpause: thaw the project's paused containers."""

from __future__ import annotations

import argparse

HELP = "Unpause services"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._simple import run_lifecycle

    return run_lifecycle(args, "Unpausing", lambda o: o.unpause(args.services))
