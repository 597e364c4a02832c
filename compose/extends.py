"""``extends``: a service built on another one, in the same file or another file.

The base service is merged UNDER the local definition with the same rules as multi-file merging (the local
side wins). Chains are followed; a cycle is an error naming it. Relative paths of a base from another file
stay relative to THAT file (they are rebased before merging). Resources the base refers to (networks,
volumes, depends_on targets) are not imported: they must exist in the extending project.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from compose.errors import ConfigError, CycleError, FileNotFound, Location
from compose.merge import merge_documents
from compose.paths import rebase_service
from compose.sourcemap import SourceMap

# (absolute file path) -> (interpolated raw document, its sources); supplied by compose.project.
FileLoader = Callable[[str], tuple[dict[str, Any], SourceMap]]


def _spec(name: str, value: Any, sources: SourceMap) -> tuple[str, str | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        service = value.get("service")
        if not service:
            raise ConfigError(f"extends.{name}.service is required",
                              location=sources.get(("services", name, "extends")),
                              hint="write `extends: {service: NAME}` or `extends: NAME`")
        file = value.get("file")
        if file is not None and not isinstance(file, str):
            raise ConfigError(f"services.{name}.extends.file must be a string (a path)",
                              location=sources.get(("services", name, "extends", "file")))
        return str(service), file
    raise ConfigError(f"services.{name}.extends must be a service name or a mapping",
                      location=sources.get(("services", name, "extends")))


def resolve_extends(document: dict[str, Any], sources: SourceMap, filename: str,
                    load_file: FileLoader, base_dir: str | None = None) -> dict[str, Any]:
    """``document`` with every service's ``extends`` resolved. A relative ``file:`` is relative to
    ``filename``'s directory, or to ``base_dir`` (an included project's ``project_directory``)."""
    services = document.get("services")
    if not isinstance(services, dict) or not any(
            isinstance(s, dict) and "extends" in s for s in services.values()):
        return document
    resolver = _Resolver(load_file)
    if base_dir and base_dir != os.path.dirname(filename):
        resolver.base_dirs[filename] = base_dir
    out = dict(document)
    out["services"] = {name: resolver.service(filename, document, sources, name, ())
                       for name in services}
    return out


class _Resolver:
    def __init__(self, load_file: FileLoader) -> None:
        self.load_file = load_file
        self.base_dirs: dict[str, str] = {}
        self.extends_location: Location | None = None  # the `extends` being followed, for errors

    def service(self, filename: str, document: dict[str, Any], sources: SourceMap, name: str,
                chain: tuple[tuple[str, str], ...]) -> Any:
        services = document.get("services") or {}
        here = (filename, name)
        if name not in services:
            extender = chain[-1][1] if chain else name
            raise ConfigError(f'service "{name}" not found in {filename} (extended by service {extender})',
                              location=self.extends_location,
                              hint=f"defined services: {', '.join(sorted(map(str, services))) or 'none'}")
        service = services[name]
        if here in chain:
            cycle = " -> ".join(f"{s}" for _, s in chain + (here,))
            raise CycleError(f"circular reference with extends: {cycle}",
                             location=sources.get(("services", name, "extends")),
                             hint="a service cannot extend itself, directly or through others")
        if not isinstance(service, dict) or "extends" not in service:
            return service
        base_name, base_file = _spec(name, service["extends"], sources)
        self.extends_location = sources.get(("services", name, "extends"))
        if base_file:
            here_dir = self.base_dirs.get(filename, os.path.dirname(filename))
            path = base_file if os.path.isabs(base_file) else os.path.join(here_dir, base_file)
            path = os.path.normpath(path)
            if not os.path.isfile(path):
                raise FileNotFound(f"cannot read {path} (extended by service {name})",
                                   location=sources.get(("services", name, "extends", "file")),
                                   hint="fix the `extends.file` path (relative to the file that extends)")
            base_doc, base_sources = self.load_file(path)
            base = self.service(path, base_doc, base_sources, base_name, chain + (here,)) or {}
            if os.path.dirname(path) != os.path.dirname(filename):
                base = rebase_service(base, os.path.dirname(path))
        else:
            base = self.service(filename, document, sources, base_name, chain + (here,))
        if not isinstance(base, dict):
            base = {}
        local = {k: v for k, v in service.items() if k != "extends"}
        base = {k: v for k, v in base.items() if k != "extends"}
        merged, _ = merge_documents({"services": {name: base}}, {"services": {name: local}})
        return merged["services"][name]
