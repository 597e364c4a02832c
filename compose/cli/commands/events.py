"""hoist events: a stream of container events of the project (create, start, die, health_status, destroy...),
observed by polling the engine (there is no daemon to push them); --json prints compose's JSON lines."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.api import ContainerState

HELP = "Receive real time events from containers"
POLL = 0.2
_ACTIONS = {"paused": "pause", "exited": "die", "dead": "die", "restarting": "restart"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="output events as a stream of json objects")
    parser.add_argument("--since", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--until", default=None, help=argparse.SUPPRESS)
    parser.add_argument("services", nargs="*", metavar="SERVICE")


def diff(before: dict[str, ContainerState], after: dict[str, ContainerState]) -> list[tuple[str, ContainerState]]:
    """(action, container) pairs that turn ``before`` into ``after`` (both: id -> state)."""
    out: list[tuple[str, ContainerState]] = []
    for cid, c in after.items():
        old = before.get(cid)
        if old is None:
            out.append(("create", c))
            if c.status == "running":
                out.append(("start", c))
            continue
        if old.status != c.status:
            if c.status == "running":
                action = "unpause" if old.status == "paused" else "start"
            else:
                action = _ACTIONS.get(c.status, c.status)
            out.append((action, c))
        if old.health != c.health and c.health:
            out.append((f"health_status: {c.health}", c))
    for cid, c in before.items():
        if cid not in after:
            out.append(("destroy", c))
    return out


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time
    from datetime import UTC, datetime

    from compose import labels as L
    from compose.cli.projectctx import check_services, project_context

    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    orch = ctx.orchestrator()

    def snapshot() -> dict[str, ContainerState]:
        return {c.id: c for c in orch.containers(services=args.services, oneoff=None)}

    state = snapshot()
    while True:
        time.sleep(POLL)
        now = snapshot()
        for action, c in diff(state, now):
            attrs = {"name": c.name, "image": c.image}
            if c.status in ("exited", "dead"):
                attrs["exitCode"] = str(c.exit_code)
            stamp = datetime.now(UTC).isoformat()
            if args.json:
                line = json.dumps({"time": stamp, "type": "container", "action": action, "id": c.id,
                                   "service": c.labels.get(L.SERVICE, ""), "attributes": attrs})
            else:
                extra = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
                line = f"{stamp} container {action} {c.id} ({extra})"
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        state = now
