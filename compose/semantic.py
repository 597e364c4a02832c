"""Checks that need the whole project, run after the schema on the normalized (canonical, long-form) document.

- every reference names something defined: services (depends_on, links, volumes_from, network_mode/pid/ipc
  ``service:x``), networks, named volumes, secrets, configs and models;
- no dependency cycle (``a -> b -> c -> a``);
- no host port published twice on the same address and protocol, no fixed ``container_name`` with replicas.

The first problem found raises (ReferenceError_, CycleError or ConflictError, with the file and line that wrote
it); softer problems come back as warning strings. Short forms are accepted too, so the checks also work on a
document that has not been normalized.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from compose.errors import ConflictError, CycleError, Location, ReferenceError_
from compose.sourcemap import KeyPath, SourceMap
from compose.suggest import did_you_mean

# Networks every project has without declaring them.
IMPLICIT_NETWORKS = frozenset({"default"})
# Host-side addresses that mean "every address": a port bound there clashes with the same port on any address.
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})
VERSION_WARNING = "the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"


@dataclass(frozen=True)
class Dependency:
    """One edge of the service graph: ``service`` needs ``target`` because of ``reason`` at ``path``."""

    service: str
    target: str
    reason: str
    path: KeyPath
    required: bool = True


def check_references(document: dict, sources: SourceMap) -> list[str]:
    """Raise for the first undefined reference, cycle or conflict; return warnings."""
    warnings: list[str] = []
    if "version" in document:
        where = sources.get(("version",))
        prefix = f"{where.file}: " if where and where.file else ""
        warnings.append(prefix + VERSION_WARNING)
    services = _mapping(document.get("services"))
    dependencies: list[Dependency] = []
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        for dependency in _service_dependencies(name, service):
            if dependency.target in services:
                dependencies.append(dependency)
            elif dependency.required:
                raise _undefined("service", dependency.target, services, sources, dependency.path,
                                 f"service `{name}` {dependency.reason}")
            else:
                warnings.append(f"service `{name}` {dependency.reason} `{dependency.target}`, which is not "
                                "defined or not enabled; it is optional (required: false), so it is skipped")
        _check_resources(name, service, document, sources)
    _check_cycles(services, dependencies, sources)
    _check_container_names(services, sources)
    _check_published_ports(services, sources)
    return warnings


# --- references -----------------------------------------------------------------------------------------

def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _service_dependencies(name: str, service: dict[str, Any]) -> Iterator[Dependency]:
    base: KeyPath = ("services", name)
    depends_on = service.get("depends_on")
    if isinstance(depends_on, list):
        for index, target in enumerate(depends_on):
            yield Dependency(name, str(target), "depends on", base + ("depends_on", index))
    elif isinstance(depends_on, dict):
        for target, spec in depends_on.items():
            required = spec.get("required", True) if isinstance(spec, dict) else True
            yield Dependency(name, str(target), "depends on", base + ("depends_on", target),
                             required=required not in (False, "false"))
    for index, link in enumerate(service.get("links") or []):
        target = str(link).split(":", 1)[0]
        yield Dependency(name, target, "links to", base + ("links", index))
    for index, source in enumerate(service.get("volumes_from") or []):
        text = str(source)
        if not text.startswith("container:"):
            yield Dependency(name, text.split(":", 1)[0], "takes volumes from", base + ("volumes_from", index))
    for key in ("network_mode", "pid", "ipc"):
        value = service.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            yield Dependency(name, value[len("service:"):], f"shares the {key} of", base + (key,))


def _undefined(kind: str, name: str, defined: Any, sources: SourceMap, path: KeyPath,
               subject: str) -> ReferenceError_:
    location = sources.get(path) or Location(path=None)
    known = [str(k) for k in defined]
    hint = did_you_mean(name, known)
    if hint is None:
        hint = (f"define it under the top-level `{_plural(kind)}:` key" if kind != "service"
                else f"defined services: {', '.join(f'`{k}`' for k in known)}" if known else "define the service")
    return ReferenceError_(f"{subject} undefined {kind} `{name}`", location=location, hint=hint)


def _plural(kind: str) -> str:
    return {"network": "networks", "volume": "volumes", "secret": "secrets", "config": "configs",
            "model": "models"}[kind]


def _check_resources(name: str, service: dict[str, Any], document: dict, sources: SourceMap) -> None:
    base: KeyPath = ("services", name)
    networks = service.get("networks")
    declared_networks = _mapping(document.get("networks"))
    if networks and isinstance(service.get("network_mode"), str):
        raise ReferenceError_(
            f"service `{name}` sets both `network_mode` and `networks`",
            location=sources.get(base + ("networks",)),
            hint="a service joins networks only in the default (bridge) network mode: remove one of the two",
        )
    for index, network in _entries(networks):
        if network not in declared_networks and network not in IMPLICIT_NETWORKS:
            path = base + ("networks", network if index is None else index)
            raise _undefined("network", network, declared_networks, sources, path,
                             f"service `{name}` refers to")
    declared_volumes = _mapping(document.get("volumes"))
    for index, item in enumerate(service.get("volumes") or []):
        volume = _named_volume(item)
        if volume is not None and volume not in declared_volumes:
            raise _undefined("volume", volume, declared_volumes, sources, base + ("volumes", index),
                             f"service `{name}` mounts")
    for kind in ("secret", "config"):
        declared = _mapping(document.get(_plural(kind)))
        for index, item in enumerate(service.get(_plural(kind)) or []):
            source = item.get("source") if isinstance(item, dict) else item
            if isinstance(source, str) and source not in declared:
                raise _undefined(kind, source, declared, sources, base + (_plural(kind), index),
                                 f"service `{name}` uses")
    declared_models = _mapping(document.get("models"))
    for index, model in _entries(service.get("models")):
        if model not in declared_models:
            path = base + ("models", model if index is None else index)
            raise _undefined("model", model, declared_models, sources, path, f"service `{name}` uses")


def _entries(value: Any) -> Iterator[tuple[int | None, str]]:
    """Names from a list (with their index) or a mapping (index None: the key is the path)."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield index, str(item)
    elif isinstance(value, dict):
        for key in value:
            yield None, str(key)


def _named_volume(item: Any) -> str | None:
    """The named volume a service volume mounts, or None for binds, tmpfs, anonymous volumes..."""
    if isinstance(item, dict):
        source = item.get("source")
        return source if item.get("type", "volume") == "volume" and isinstance(source, str) and source else None
    if not isinstance(item, str) or ":" not in item:
        return None  # anonymous volume
    source = item.split(":", 1)[0]
    if not source or source.startswith((".", "/", "~", "$", "\\")) or (len(source) == 1 and source.isalpha()):
        return None  # a path (or a Windows drive letter)
    return source


# --- cycles ---------------------------------------------------------------------------------------------

def _check_cycles(services: dict[str, Any], dependencies: list[Dependency], sources: SourceMap) -> None:
    edges: dict[str, list[Dependency]] = {name: [] for name in services}
    for dependency in dependencies:
        edges[dependency.service].append(dependency)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[Dependency] = []

    def visit(name: str) -> None:
        state[name] = 1
        for dependency in edges[name]:
            target = dependency.target
            if state.get(target) == 1:
                start = next((i for i, d in enumerate(stack) if d.service == target), len(stack))
                loop = [d.service for d in stack[start:]] + [name, target]
                raise CycleError(
                    "dependency cycle detected: " + " -> ".join(loop),
                    location=sources.get(dependency.path),
                    hint="remove one of these dependencies (depends_on, links, volumes_from, service: modes)",
                )
            if state.get(target) is None:
                stack.append(dependency)
                visit(target)
                stack.pop()
        state[name] = 2

    for name in services:
        if state.get(name) is None:
            visit(name)


# --- conflicts ------------------------------------------------------------------------------------------

def _replicas(service: dict[str, Any]) -> int | None:
    deploy = service.get("deploy")
    for value in (service.get("scale"), deploy.get("replicas") if isinstance(deploy, dict) else None):
        if value is None:
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            return None
    return None


def _check_container_names(services: dict[str, Any], sources: SourceMap) -> None:
    owners: dict[str, str] = {}
    for name, service in services.items():
        if not isinstance(service, dict) or not isinstance(service.get("container_name"), str):
            continue
        container_name = service["container_name"]
        replicas = _replicas(service)
        path = ("services", name, "container_name")
        if replicas is not None and replicas > 1:
            raise ConflictError(
                f"service `{name}` has container_name `{container_name}` and {replicas} replicas, "
                "but a container name must be unique",
                location=sources.get(path),
                hint="remove container_name, or run a single replica",
            )
        if container_name in owners:
            raise ConflictError(
                f"services `{owners[container_name]}` and `{name}` both use container_name `{container_name}`",
                location=sources.get(path),
                hint="give each service its own container_name",
            )
        owners[container_name] = name


@dataclass(frozen=True)
class _Binding:
    host_ip: str
    port: int
    protocol: str
    service: str
    path: KeyPath


def _host_ports(published: Any) -> list[int]:
    text = str(published).strip()
    if not text:
        return []
    low, _, high = text.partition("-")
    try:
        first = int(low)
        last = int(high) if high else first
    except ValueError:
        return []
    return list(range(first, last + 1)) if 0 < first <= last else []


def _port_bindings(name: str, service: dict[str, Any]) -> Iterator[tuple[_Binding, bool]]:
    """Host bindings of a service's ports; the flag says whether each replica would need the same port."""
    for index, port in enumerate(service.get("ports") or []):
        path: KeyPath = ("services", name, "ports", index)
        if isinstance(port, dict):
            host_ip = str(port.get("host_ip") or "")
            published = port.get("published")
            protocol = str(port.get("protocol") or "tcp").lower()
            single_target = "-" not in str(port.get("target", ""))
        elif isinstance(port, str):
            spec, _, protocol = port.partition("/")
            protocol = (protocol or "tcp").lower()
            parts = spec.rsplit(":", 2) if not spec.startswith("[") else [spec[1:spec.index("]")],
                                                                        *spec[spec.index("]") + 2:].split(":")]
            if len(parts) < 2:
                continue
            host_ip = parts[0] if len(parts) == 3 else ""
            published = parts[-2]
            single_target = "-" not in parts[-1]
        else:
            continue  # a bare container port: the host port is chosen at random
        ports = _host_ports(published) if published is not None else []
        if len(ports) > 1 and single_target:
            continue  # "8000-8010:80": each container gets one free port of the range
        fixed = len(ports) == 1
        for host_port in ports:
            yield _Binding(host_ip, host_port, protocol, name, path), fixed


def _clash(a: _Binding, b: _Binding) -> bool:
    return (a.port == b.port and a.protocol == b.protocol
            and (a.host_ip == b.host_ip or a.host_ip in WILDCARD_ADDRESSES or b.host_ip in WILDCARD_ADDRESSES))


def _describe(binding: _Binding) -> str:
    address = f"{binding.host_ip}:" if binding.host_ip else ""
    return f"{address}{binding.port}/{binding.protocol}"


def _check_published_ports(services: dict[str, Any], sources: SourceMap) -> None:
    seen: list[_Binding] = []
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        replicas = _replicas(service) or 1
        for binding, fixed in _port_bindings(name, service):
            if fixed and replicas > 1:
                raise ConflictError(
                    f"service `{name}` publishes host port {_describe(binding)} with {replicas} replicas; "
                    "only one container can bind it",
                    location=sources.get(binding.path),
                    hint="publish a range of host ports (e.g. `8000-8003:80`) or let the host port be chosen",
                )
            for earlier in seen:
                if _clash(earlier, binding):
                    owner = "it" if earlier.service == name else f"service `{earlier.service}`"
                    raise ConflictError(
                        f"service `{name}` publishes host port {_describe(binding)}, which {owner} already "
                        f"publishes ({_describe(earlier)})",
                        location=sources.get(binding.path),
                        hint="use a different host port or host address",
                    )
            seen.append(binding)
