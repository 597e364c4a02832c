"""hoist up: create and start the project's containers (build or pull images first), then follow
their logs — or return at once with -d, or when everything is running/healthy with --wait."""

from __future__ import annotations

import argparse
import os

HELP = "Create and start containers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_create_flags(parser)
    parser.add_argument("-d", "--detach", action="store_true", help="run containers in the background")
    parser.add_argument("--wait", action="store_true",
                        help="wait for services to be running|healthy (implies --detach)")
    parser.add_argument("--wait-timeout", type=float, default=0, metavar="SECONDS",
                        help="maximum duration to wait for the project to be running|healthy")
    parser.add_argument("--no-start", action="store_true", help="don't start the services after creating them")
    parser.add_argument("--no-deps", action="store_true", help="don't start linked services")
    parser.add_argument("--always-recreate-deps", action="store_true",
                        help="recreate dependent containers (incompatible with --no-recreate)")
    parser.add_argument("-t", "--timeout", type=float, default=None, metavar="SECONDS",
                        help="shutdown timeout in seconds when attached or when containers are already running")
    parser.add_argument("-V", "--renew-anon-volumes", action="store_true",
                        help="recreate anonymous volumes instead of retrieving data from the previous containers")
    parser.add_argument("--abort-on-container-exit", action="store_true",
                        help="stop all containers if any container was stopped (incompatible with -d)")
    parser.add_argument("--abort-on-container-failure", action="store_true",
                        help="stop all containers if any container exited with failure (incompatible with -d)")
    parser.add_argument("--exit-code-from", metavar="SERVICE",
                        help="return the exit code of the selected service container (implies "
                        "--abort-on-container-exit)")
    parser.add_argument("--attach", action="append", default=None, metavar="SERVICE",
                        help="restrict attaching to the specified services")
    parser.add_argument("--no-attach", action="append", default=None, metavar="SERVICE",
                        help="do not attach (stream logs) to the specified services")
    parser.add_argument("--attach-dependencies", action="store_true",
                        help="automatically attach to log output of dependent services")
    parser.add_argument("--no-log-prefix", action="store_true", help="don't print prefix in logs")
    parser.add_argument("--no-color", action="store_true", help="produce monochrome output")
    parser.add_argument("--timestamps", action="store_true", help="show timestamps")
    parser.add_argument("-y", "--yes", action="store_true", help="assume yes to prompts")
    # compose's interactive menu: accepted (also Go-style --menu=false) and ignored.
    parser.add_argument("--menu", nargs="?", const="true", default=None, help=argparse.SUPPRESS)
    parser.add_argument("-w", "--watch", action="store_true",
                        help="watch source code and rebuild/refresh containers when files are updated")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def add_create_flags(parser: argparse.ArgumentParser) -> None:
    """Flags `create` shares with `up`."""
    parser.add_argument("--build", action="store_true", help="build images before starting containers")
    parser.add_argument("--no-build", action="store_true", help="don't build an image, even if it's policy")
    parser.add_argument("--pull", choices=("always", "missing", "never", "policy"), default="policy",
                        help='pull image before running ("always"|"missing"|"never"|"policy")')
    parser.add_argument("--quiet-pull", action="store_true", help="pull without printing progress information")
    parser.add_argument("--quiet-build", action="store_true", help="suppress the build output")
    parser.add_argument("--force-recreate", action="store_true",
                        help="recreate containers even if their configuration and image haven't changed")
    parser.add_argument("--no-recreate", action="store_true",
                        help="if containers already exist, don't recreate them")
    parser.add_argument("--remove-orphans", action="store_true",
                        default=os.environ.get("COMPOSE_REMOVE_ORPHANS", "").lower() in ("1", "true"),
                        help="remove containers for services not defined in the compose file")
    parser.add_argument("--scale", action="append", default=None, metavar="SERVICE=NUM",
                        help="scale SERVICE to NUM instances; overrides the scale setting in the compose file")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "watch", False):
        from compose.watch.session import run_up_watch  # watch mode (issue 8)

        return run_up_watch(args)
    from compose.cli.upflow import run_up

    return run_up(args)
