"""hoist version: print version information."""

from __future__ import annotations

import argparse
import json
import platform

from compose import __version__

HELP = "Show the hoist version information"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", choices=("pretty", "json"), default="pretty",
                        help="format the output")
    parser.add_argument("--short", action="store_true", help="show only the version number")


def run(args: argparse.Namespace) -> int:
    if args.short:
        print(__version__)
    elif args.format == "json":
        print(json.dumps({"version": f"v{__version__}", "python": platform.python_version()}))
    else:
        print(f"hoist version v{__version__}")
    return 0
