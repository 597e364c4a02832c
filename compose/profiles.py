"""Profiles: a service that lists profiles is off unless one of them is active.

``*`` activates every profile. A service named on the command line is enabled whatever its profiles, its
profiles become active, and so do the services it depends on (docker compose enables a targeted service's
dependencies as well, so `up svc` never fails on its own dependency's profile).
"""

from __future__ import annotations

from typing import Any


def _deps(service: dict[str, Any]) -> list[str]:
    deps = service.get("depends_on") or {}
    names = list(deps) if isinstance(deps, (dict, list)) else []
    for link in service.get("links") or []:
        names.append(str(link).split(":", 1)[0])
    for source in service.get("volumes_from") or []:
        if not str(source).startswith("container:"):
            names.append(str(source).split(":", 1)[0])
    for key in ("network_mode", "pid", "ipc", "uts", "cgroup"):
        mode = service.get(key)
        if isinstance(mode, str) and mode.startswith("service:"):
            names.append(mode[len("service:"):])
    return [str(n) for n in names]


def select_services(services: dict[str, Any], active: list[str],
                    targeted: list[str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """(enabled, disabled, active profiles after targeting) for the raw ``services`` mapping."""
    active_set = set(active)
    for name in targeted or []:
        svc = services.get(name) or {}
        active_set.update(str(p) for p in svc.get("profiles") or [])

    def on(svc: dict[str, Any]) -> bool:
        profiles = svc.get("profiles") or []
        return not profiles or "*" in active_set or bool(active_set.intersection(map(str, profiles)))

    enabled = {name for name, svc in services.items() if on(svc or {})}
    stack = [n for n in (targeted or []) if n in services]
    enabled.update(stack)
    while stack:
        for dep in _deps(services.get(stack.pop()) or {}):
            if dep in services and dep not in enabled:
                enabled.add(dep)
                stack.append(dep)
    ordered = [n for n in services if n in enabled]
    disabled = [n for n in services if n not in enabled]
    return ordered, disabled, sorted(active_set)
