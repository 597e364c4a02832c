"""Waiting for services to reach a condition: the dependency conditions of depends_on (service_started,
service_healthy, service_completed_successfully) and `up --wait`. Each wait looks at the engine's state
again whenever a container's recorded state changes (``EngineAPI.container_watch``), and at least every
``RECHECK_INTERVAL``.

Failures carry the reason a user needs: which container, what state, and the last health check output.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from compose import labels as L
from compose.scheduler import (
    SERVICE_COMPLETED_SUCCESSFULLY,
    SERVICE_HEALTHY,
    SERVICE_STARTED,
    ConditionFailed,
)
from runtime.api import ContainerState, EngineAPI
from runtime.errors import NotFound

# Waits are event-driven (the engine's container_watch wakes them when a container's recorded state
# changes); this bounds how long a change nobody records (a supervisor killed outright) or a cancel goes
# unnoticed.
RECHECK_INTERVAL = 0.1


def last_health_output(c: ContainerState) -> str:
    if not c.health_log:
        return ""
    entry = c.health_log[-1]
    text = entry.output.strip().replace("\n", " ")
    if len(text) > 200:
        text = text[:200] + "..."
    return f"last health check exited {entry.exit_code}: {text}" if text else \
        f"last health check exited {entry.exit_code}"


def _check(c: ContainerState, condition: str, service: str) -> bool:
    """True when the container meets the condition; raises ConditionFailed when it never will."""
    if condition == SERVICE_COMPLETED_SUCCESSFULLY:
        if c.status in ("exited", "dead"):
            if c.exit_code == 0:
                return True
            raise ConditionFailed(f'service "{service}" didn\'t complete successfully: exit {c.exit_code}')
        return False
    if c.status in ("exited", "dead"):
        raise ConditionFailed(f'container {c.name} exited ({c.exit_code}) before it was '
                              f'{"healthy" if condition == SERVICE_HEALTHY else "running"}')
    if condition == SERVICE_HEALTHY:
        if c.status == "created":
            return False
        if c.health is None:
            raise ConditionFailed(f"container {c.name} has no healthcheck configured")
        if c.health == "unhealthy":
            detail = last_health_output(c)
            raise ConditionFailed(f"container {c.name} is unhealthy" + (f" ({detail})" if detail else ""))
        return c.health == "healthy"
    return c.status in ("running", "paused", "restarting")


def service_containers(engine: EngineAPI, project: str, service: str) -> list[ContainerState]:
    found = engine.container_list(labels={L.PROJECT: project, L.SERVICE: service, L.ONEOFF: L.FALSE})
    return sorted(found, key=lambda c: L.container_number(c.labels))


class _Look:
    """A condition wait's look at its service's containers. Woken by a change of the containers it watches
    (their recorded state), it reads those by id: on a dependency's critical path (healthy seen -> the
    dependent's start sent), ~0.15 ms against ~0.6 ms for listing every record by label. It lists the
    service again at least every RECHECK_INTERVAL, and when one is gone, so a container another `up` adds
    or replaces meanwhile is still seen as before."""

    def __init__(self, engine: EngineAPI, project: str, service: str) -> None:
        self.engine, self.project, self.service = engine, project, service
        self.listed_at = -RECHECK_INTERVAL

    def again(self, changed: list[ContainerState] | None) -> list[ContainerState]:
        if changed and time.monotonic() - self.listed_at < RECHECK_INTERVAL:
            try:
                return [self.engine.container_inspect(c.id) for c in changed]
            except NotFound:
                pass
        self.listed_at = time.monotonic()
        return service_containers(self.engine, self.project, self.service)


def make_waiter(engine: EngineAPI, project: str,
                on_waiting: Callable[[str, str], None] | None = None,
                on_ready: Callable[[str, str], None] | None = None) -> Callable[[str, str, threading.Event], None]:
    """A scheduler condition waiter for ``project``'s services."""

    def wait(service: str, condition: str, cancel: threading.Event) -> None:
        if condition == SERVICE_STARTED:
            return  # the scheduler already waited for the dependency's start to finish
        containers = service_containers(engine, project, service)
        if not containers:
            raise ConditionFailed(f'service "{service}" has no container')
        if on_waiting:
            for c in containers:
                on_waiting(c.name, condition)
        # Watching before looking (again): a change after the look wakes the wait, none is missed.
        with engine.container_watch([c.id for c in containers]) as watch:
            look = _Look(engine, project, service)
            woken = False
            while not cancel.is_set():
                containers = look.again(containers if woken else None)
                if not containers:
                    raise ConditionFailed(f'service "{service}" has no container')
                if all(_check(c, condition, service) for c in containers):
                    if on_ready:
                        for c in containers:
                            on_ready(c.name, condition)
                    return
                woken = watch.wait(RECHECK_INTERVAL)
        raise ConditionFailed("cancelled")

    return wait


def wait_ready(engine: EngineAPI, containers: list[ContainerState], *, oneshot: set[str],
               timeout: float | None, cancel: threading.Event | None = None,
               on_ready: Callable[[ContainerState], None] | None = None) -> dict[str, str]:
    """`up --wait`: every container running, or healthy if it has a healthcheck; a container in
    ``oneshot`` (restart "no") that exited 0 counts as done. Returns {container name: failure}."""
    deadline = None if not timeout else time.monotonic() + timeout
    pending = {c.name for c in containers}
    failures: dict[str, str] = {}
    with engine.container_watch([c.id for c in containers]) as watch:
        while pending:
            for name in sorted(pending):
                c = engine.container_inspect(name)
                if c.status in ("exited", "dead"):
                    if name in oneshot and c.exit_code == 0:
                        pending.discard(name)
                        if on_ready:
                            on_ready(c)
                        continue
                    failures[name] = f"container {name} exited ({c.exit_code})"
                    pending.discard(name)
                elif c.status == "running" and c.health in (None, "healthy"):
                    pending.discard(name)
                    if on_ready:
                        on_ready(c)
                elif c.health == "unhealthy":
                    detail = last_health_output(c)
                    failures[name] = f"container {name} is unhealthy" + (f" ({detail})" if detail else "")
                    pending.discard(name)
            if not pending:
                break
            if cancel is not None and cancel.is_set():
                break
            if deadline is not None and time.monotonic() > deadline:
                for name in pending:
                    failures[name] = f"container {name} was not ready within {timeout:g}s"
                break
            left = RECHECK_INTERVAL if deadline is None else max(0.0, min(RECHECK_INTERVAL,
                                                                           deadline - time.monotonic()))
            watch.wait(left)
    return failures
