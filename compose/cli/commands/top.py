"""hoist top: the processes running in each of the project's containers."""

from __future__ import annotations

import argparse

HELP = "Display the running processes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    from compose.cli.projectctx import check_services, project_context

    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    for c in ctx.orchestrator().containers(services=args.services):
        if c.status != "running":
            continue
        procs = ctx.engine.container_top(c.name)
        print(c.name)
        if not procs:
            continue
        keys = list(procs[0])
        widths = [max(len(k), *(len(p.get(k, "")) for p in procs)) for k in keys]
        print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip())
        for p in procs:
            print("  ".join(p.get(k, "").ljust(w) for k, w in zip(keys, widths, strict=True)).rstrip())
        print()
    return 0
