"""hoist wait: block until the services' containers stop; the exit code is the first container's."""

from __future__ import annotations

import argparse

HELP = "Block until containers of all (or specified) services stop"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--down-project", action="store_true", help="drops project when the first container stops")
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def run(args: argparse.Namespace) -> int:
    import threading

    from compose.cli.projectctx import check_services, progress, project_context

    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    orch = ctx.orchestrator()
    containers = orch.containers(services=args.services)
    if not containers:
        return 0
    codes: list[int] = []
    done = threading.Event()
    lock = threading.Lock()

    def wait_one(name: str) -> None:
        code = ctx.engine.container_wait(name)
        with lock:
            codes.append(code)
            if args.down_project or len(codes) == len(containers):
                done.set()

    for c in containers:
        threading.Thread(target=wait_one, args=(c.name,), daemon=True).start()
    while not done.wait(0.2):
        pass
    if args.down_project:
        with progress(args, "Running") as sink:
            ctx.orchestrator(sink).down()
    return codes[0]
