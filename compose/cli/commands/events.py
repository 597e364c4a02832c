"""hoist events: a stream of container events of the project (create, start, die, health_status, destroy...),
observed by polling the engine (there is no daemon to push them); --json prints compose's JSON lines.

There is no daemon keeping a log of past events either, so ``--since`` replays what the containers' records
still tell: each container's creation, its latest start and exit, and its current health at its latest
probe (earlier restarts and health changes, and removed containers, are not recorded anywhere). ``--until``
ends the stream at that time; one in the past prints the replayed events and exits, as docker's."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from runtime.api import ContainerState

HELP = "Receive real time events from containers"
POLL = 0.2
_ACTIONS = {"paused": "pause", "exited": "die", "dead": "die", "restarting": "restart"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="output events as a stream of json objects")
    parser.add_argument("--since", default=None,
                        help="also show the recorded events since this time (duration like 10m, Unix or RFC 3339)")
    parser.add_argument("--until", default=None, help="stop streaming at this time (same forms)")
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


def recorded(states: list[ContainerState], since: str, until: str | None) -> list[tuple[str, str, ContainerState]]:
    """(engine time, action, container) of the events the records still tell, since <= time <= until, in
    time order (times in the engine's sortable form)."""
    out: list[tuple[str, str, ContainerState]] = []
    for c in states:
        events = [(c.created, "create")]
        if c.started_at:
            events.append((c.started_at, "start"))
        if c.finished_at and c.status in ("exited", "dead"):
            events.append((c.finished_at, "die"))
        if c.health and c.health_log:
            events.append((c.health_log[-1].end, f"health_status: {c.health}"))
        out += [(t, action, c) for t, action in events if t and t >= since and (until is None or t <= until)]
    return sorted(out, key=lambda e: e[0])


def _wall_time(engine_time: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`` as an aware datetime (to the microsecond)."""
    from datetime import datetime

    return datetime.fromisoformat(engine_time[:26] + "+00:00")


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    import time
    from datetime import UTC, datetime

    from compose import labels as L
    from compose.cli.projectctx import check_services, project_context
    from compose.timefilter import engine_time, parse_time_filter

    since, until = parse_time_filter(args.since), parse_time_filter(args.until)
    ctx = project_context(args, need_file=False)
    check_services(ctx, args.services)
    orch = ctx.orchestrator()

    def snapshot() -> dict[str, ContainerState]:
        return {c.id: c for c in orch.containers(services=args.services, oneoff=None)}

    def emit(action: str, c: ContainerState, when: datetime) -> None:
        attrs = {"name": c.name, "image": c.image}
        if c.status in ("exited", "dead") and action == "die":
            attrs["exitCode"] = str(c.exit_code)
        stamp = when.isoformat()
        if args.json:
            line = json.dumps({"time": stamp, "type": "container", "action": action, "id": c.id,
                               "service": c.labels.get(L.SERVICE, ""), "attributes": attrs})
        else:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(attrs.items()))
            line = f"{stamp} container {action} {c.id} ({extra})"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    state = snapshot()
    if since is not None:
        for at, action, c in recorded(list(state.values()), since, until):
            emit(action, c, _wall_time(at))
    while until is None or engine_time(time.time()) < until:
        time.sleep(POLL if until is None else max(0.0, min(POLL, _wall_time(until).timestamp() - time.time())))
        now = snapshot()
        for action, c in diff(state, now):
            emit(action, c, datetime.now(UTC))
        state = now
    return 0
