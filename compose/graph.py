"""The service dependency graph (networkx, imported lazily).

Edges point from a service to what it needs: ``depends_on``, ``links``, ``volumes_from`` and
``network_mode``/``pid``/``ipc: service:x``. Start order is by generations (every service of a generation
can start in parallel once the previous generations are up); stop order is the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from compose.errors import CycleError


def service_dependencies(service: Any) -> dict[str, str]:
    """``{dependency: reason}`` of one service (a model Service or a canonical/raw mapping)."""
    get = (lambda k: service.get(k)) if isinstance(service, dict) else (lambda k: getattr(service, k, None))
    out: dict[str, str] = {}
    depends = get("depends_on") or {}
    for name in (depends if isinstance(depends, (dict, list)) else []):
        out.setdefault(str(name), "depends_on")
    for link in get("links") or []:
        out.setdefault(str(link).split(":", 1)[0], "links")
    for source in get("volumes_from") or []:
        if not str(source).startswith("container:"):
            out.setdefault(str(source).split(":", 1)[0], "volumes_from")
    for key in ("network_mode", "pid", "ipc", "uts", "cgroup"):
        mode = get(key)
        if isinstance(mode, str) and mode.startswith("service:"):
            out.setdefault(mode[len("service:"):], key)
    return out


@dataclass
class ServiceGraph:
    """``edges[a] = {b: reason}`` means a depends on b."""

    edges: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_services(cls, services: dict[str, Any]) -> ServiceGraph:
        return cls({name: service_dependencies(svc) for name, svc in services.items()})

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ServiceGraph:
        return cls.from_services(document.get("services") or {})

    @classmethod
    def from_project(cls, project: Any) -> ServiceGraph:
        return cls.from_services(project.services)

    def _digraph(self) -> Any:
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.edges)
        for name, deps in self.edges.items():
            for dep in deps:
                if dep in self.edges:
                    g.add_edge(name, dep)
        return g

    def find_cycle(self) -> list[str] | None:
        """A dependency cycle as ``[a, b, c, a]``, or None. Deterministic: searched in name order."""
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> list[str] | None:
            state[node] = 1
            stack.append(node)
            for dep in sorted(self.edges.get(node, {})):
                if dep not in self.edges:
                    continue
                if state.get(dep) == 1:
                    return stack[stack.index(dep):] + [dep]
                if dep not in state:
                    found = visit(dep)
                    if found:
                        return found
            stack.pop()
            state[node] = 2
            return None

        for node in sorted(self.edges):
            if node not in state:
                found = visit(node)
                if found:
                    return found
        return None

    def check_cycles(self) -> None:
        cycle = self.find_cycle()
        if cycle:
            raise CycleError(f"dependency cycle detected: {' -> '.join(cycle)}",
                             hint="remove one of the dependencies in this cycle")

    def start_generations(self, services: Iterable[str] | None = None) -> list[list[str]]:
        """Generations to start in order; ``services`` limits to those and everything they need."""
        self.check_cycles()
        import networkx as nx

        g = self._digraph()
        if services is not None:
            keep = set()
            for s in services:
                keep.add(s)
                keep |= nx.descendants(g, s)
            g = g.subgraph(keep)
        # Edges point at dependencies; on the reversed graph the first generation is what needs nothing,
        # so every service starts as soon as everything it needs is up.
        return [sorted(gen) for gen in nx.topological_generations(g.reverse(copy=False))]

    def start_order(self, services: Iterable[str] | None = None) -> list[str]:
        return [s for gen in self.start_generations(services) for s in gen]

    def stop_generations(self, services: Iterable[str] | None = None) -> list[list[str]]:
        return list(reversed(self.start_generations(services)))

    def dependencies(self, name: str, transitive: bool = True) -> set[str]:
        """What ``name`` needs (only services that exist)."""
        out: set[str] = set()
        todo = [name]
        while todo:
            for dep in self.edges.get(todo.pop(), {}):
                if dep in self.edges and dep not in out:
                    out.add(dep)
                    if transitive:
                        todo.append(dep)
        return out

    def dependents(self, name: str, transitive: bool = True) -> set[str]:
        """The services that need ``name``."""
        out: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            for svc, deps in self.edges.items():
                if current in deps and svc not in out:
                    out.add(svc)
                    if transitive:
                        todo.append(svc)
        return out


def with_restart_dependents(services: dict[str, Any], chosen: Iterable[str]) -> list[str]:
    """``chosen`` plus, transitively, every service whose ``depends_on`` marks one of them ``restart: true``.

    ``services`` maps names to model services; the result keeps ``chosen`` first, in its order.
    """
    result = list(chosen)
    changed = True
    while changed:
        changed = False
        for name, svc in services.items():
            if name not in result and any(dep in result and d.restart for dep, d in svc.depends_on.items()):
                result.append(name)
                changed = True
    return result
