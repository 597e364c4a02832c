"""hoist kill: send a signal (SIGKILL by default) to the project's running containers."""

from __future__ import annotations

import argparse

HELP = "Force stop service containers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="SIGKILL", help='SIGNAL to send to the container')
    parser.add_argument("--remove-orphans", action="store_true",
                        help="remove containers for services not defined in the compose file")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.commands._simple import run_lifecycle

    sig = args.signal if args.signal.isdigit() or args.signal.upper().startswith("SIG") \
        else "SIG" + args.signal
    return run_lifecycle(args, "Killing", lambda o: o.kill(args.services, signal=sig.upper()))
