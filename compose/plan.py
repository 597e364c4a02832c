"""The convergence plan: for every service, what to do with each of its containers — decided from the
model and the engine's observed state before anything is touched, so `up` can say what it will do, a
second `up` with nothing changed can say "nothing to do", and --dry-run can print it.

Rules (compose's): a container is recreated iff its config hash differs, or its image changed, or
--force-recreate (never with --no-recreate); a stopped container with the right config is started; a
running one is left alone; missing replicas get new numbers after the highest existing one (gaps are not
refilled); surplus replicas (highest numbers first) are removed; a service that depends with
``restart: true`` on a recreated one is restarted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from compose import labels as L
from runtime.api import ContainerState

ActionKind = Literal["create", "recreate", "start", "noop", "scale-down", "restart", "remove-orphan"]
RUNNING_STATES = ("running", "restarting", "paused")


@dataclass(frozen=True)
class Desired:
    """What the model wants of one service."""

    service: str
    replicas: int
    config_hash: str
    image_id: str | None = None  # the id the image resolves to now; None when unknown (not built yet)
    restart_on: tuple[str, ...] = ()  # dependencies with restart: true


@dataclass(frozen=True)
class Options:
    force_recreate: bool = False
    no_recreate: bool = False
    start: bool = True  # False for `create` / `up --no-start`
    force_services: frozenset[str] | None = None  # which services force_recreate is for (None: all)


@dataclass(frozen=True)
class ContainerAction:
    kind: ActionKind
    service: str
    number: int
    container: ContainerState | None = None  # the existing container it acts on
    reason: str = ""

    @property
    def name(self) -> str:
        return self.container.name if self.container else ""


@dataclass
class ServicePlan:
    service: str
    actions: list[ContainerAction] = field(default_factory=list)

    def of_kind(self, *kinds: ActionKind) -> list[ContainerAction]:
        return [a for a in self.actions if a.kind in kinds]

    @property
    def changes(self) -> bool:
        return any(a.kind != "noop" for a in self.actions)


@dataclass
class Plan:
    services: dict[str, ServicePlan] = field(default_factory=dict)
    orphans: list[ContainerState] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return any(p.changes for p in self.services.values())

    def describe(self) -> list[str]:
        lines = []
        for plan in self.services.values():
            for a in plan.actions:
                who = a.name or f"{plan.service} #{a.number}"
                lines.append(f"{a.kind} {who}" + (f" ({a.reason})" if a.reason else ""))
        return lines


def _needs_recreate(c: ContainerState, want: Desired, options: Options) -> str:
    if options.no_recreate:
        return ""
    if options.force_recreate:
        return "--force-recreate"
    if c.labels.get(L.CONFIG_HASH) != want.config_hash:
        return "configuration changed"
    if want.image_id and c.image_id and c.image_id != want.image_id:
        return "image changed"
    return ""


def plan_service(want: Desired, existing: Iterable[ContainerState], options: Options) -> ServicePlan:
    plan = ServicePlan(want.service)
    containers = sorted(existing, key=lambda c: L.container_number(c.labels))
    keep, surplus = containers[:want.replicas], containers[want.replicas:]
    for c in reversed(surplus):
        plan.actions.append(ContainerAction("scale-down", want.service, L.container_number(c.labels), c,
                                            f"scale {len(containers)} -> {want.replicas}"))
    for c in keep:
        number = L.container_number(c.labels)
        reason = _needs_recreate(c, want, options)
        if reason:
            plan.actions.append(ContainerAction("recreate", want.service, number, c, reason))
        elif c.status not in RUNNING_STATES and options.start:
            plan.actions.append(ContainerAction("start", want.service, number, c, f"was {c.status}"))
        else:
            plan.actions.append(ContainerAction("noop", want.service, number, c))
    next_number = max((L.container_number(c.labels) for c in containers), default=0) + 1
    for i in range(want.replicas - len(keep)):
        plan.actions.append(ContainerAction("create", want.service, next_number + i))
    return plan


def make_plan(desired: Mapping[str, Desired], observed: Iterable[ContainerState], options: Options,
              known_services: Iterable[str] = ()) -> Plan:
    """``observed``: the project's non-one-off containers. ``known_services``: services that are in the
    project but not being converged now (not selected, disabled by a profile) — never orphans."""
    by_service: dict[str, list[ContainerState]] = {}
    for c in observed:
        by_service.setdefault(c.labels.get(L.SERVICE, ""), []).append(c)
    plan = Plan()
    for name, want in desired.items():
        forced = options.force_recreate and (options.force_services is None or name in options.force_services)
        plan.services[name] = plan_service(want, by_service.get(name, []),
                                           dataclasses.replace(options, force_recreate=forced))
    known = set(desired) | set(known_services)
    plan.orphans = [c for svc, cs in sorted(by_service.items()) if svc not in known for c in cs]
    _propagate_dependency_restarts(plan, desired)
    return plan


def _propagate_dependency_restarts(plan: Plan, desired: Mapping[str, Desired]) -> None:
    """A service with ``restart: true`` on a dependency that gets recreated is restarted after it."""
    changed = True
    while changed:
        changed = False
        touched = {name for name, p in plan.services.items() if p.of_kind("recreate", "restart")}
        for name, want in desired.items():
            if not any(dep in touched for dep in want.restart_on):
                continue
            sp = plan.services[name]
            for i, a in enumerate(sp.actions):
                if a.kind == "noop" and a.container is not None and a.container.status in RUNNING_STATES:
                    dep = next(d for d in want.restart_on if d in touched)
                    sp.actions[i] = ContainerAction("restart", name, a.number, a.container,
                                                    f'dependency "{dep}" was recreated')
                    changed = True
