"""Picking one container of a service (exec, port, cp, logs --index): replica ``--index`` (default 1)."""

from __future__ import annotations

from compose.cli.projectctx import ProjectContext
from compose.errors import UsageError
from runtime.api import ContainerState


def service_container(ctx: ProjectContext, service: str, index: int | None = None, *,
                      running: bool = True) -> ContainerState:
    from compose import labels as L

    if ctx.project is not None and service not in ctx.project.services:
        raise UsageError(f"no such service: {service}")
    containers = ctx.orchestrator().containers(services=[service])
    if running:
        containers = [c for c in containers if c.status in ("running", "restarting", "paused")]
    if index is not None:
        containers = [c for c in containers if L.container_number(c.labels) == index]
    if not containers:
        which = f" #{index}" if index is not None else ""
        state = "running " if running else ""
        raise UsageError(f'service "{service}"{which} has no {state}container',
                         hint=f"start it first: hoist up -d {service}")
    return containers[0]
