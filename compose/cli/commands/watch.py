"""hoist watch: bring the services up (unless --no-up), then apply their develop.watch rules on every file
change until Ctrl-C. With --dry-run: what a change of each watched file would do, and nothing else."""

from __future__ import annotations

import argparse

HELP = "Watch build context for service and rebuild/refresh containers when files are updated"


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {value!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-up", action="store_true", help="do not build & start services before watching")
    # compose's --prune is a boolean flag that defaults to true (--prune=false turns it off).
    parser.add_argument("--prune", nargs="?", const=True, default=True, type=_bool, metavar="BOOL",
                        help="prune dangling images on rebuild (default true)")
    parser.add_argument("--quiet", action="store_true", help="hide build output")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def up_arguments(args: argparse.Namespace, services: list[str]) -> argparse.Namespace:
    """The namespace `up -d SERVICES` would have, global flags taken from ``args``."""
    from compose.cli.commands import up

    parser = argparse.ArgumentParser(add_help=False)
    up.add_arguments(parser)
    up_args = parser.parse_args(["-d", *services])
    for key, value in vars(args).items():
        if not hasattr(up_args, key):
            setattr(up_args, key, value)
    up_args.quiet_build = bool(getattr(args, "quiet", False))
    return up_args


def run(args: argparse.Namespace) -> int:
    from compose.cli.projectctx import project_context
    from compose.watch.session import run_watch, watched_services

    ctx = project_context(args)
    project = ctx.require_project()
    services = watched_services(project, list(args.services))
    if getattr(args, "dry_run", False):
        # What each file's change would do (compose/watch/preview.py); nothing is started or watched.
        from compose.dryrun import PREFIX
        from compose.watch.preview import preview

        for line in preview(project, services):
            print(PREFIX + line)
        return 0
    if not args.no_up:
        from compose.cli.upflow import run_up

        code = run_up(up_arguments(args, list(args.services)))
        if code:
            return code
    return run_watch(ctx.engine, project, services, prune=args.prune, quiet=args.quiet)
