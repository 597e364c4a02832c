"""hoist create: create the project's containers (and networks, volumes, images) without starting them."""

from __future__ import annotations

import argparse

from compose.cli.commands.up import add_create_flags

HELP = "Creates containers for a service"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_create_flags(parser)
    parser.add_argument("-y", "--yes", action="store_true", help="assume yes to prompts")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.upflow import run_up

    args.no_start = True
    args.detach = True
    return run_up(args)
