"""Which watch rule a changed host path belongs to, and where it goes in the container.

A rule (``develop.watch[i]`` of a service) accepts a path when the path is ``rule.path`` or below it, is not
an editor's temporary file, is not excluded by the rule's ``ignore`` patterns (relative to ``rule.path``) or
by the build context's ``.dockerignore`` (relative to the context), and matches one of the ``include``
patterns when there are any. Patterns follow .dockerignore rules (negation, ``**``): the builder's
:class:`IgnoreMatcher` decides them, so watch and build never disagree about what a pattern means.

Build-definition files (the Dockerfile, its ``.dockerignore``, the compose files) are never synced into a
container, but a ``rebuild`` rule still fires on them. When several rules accept a path, the most specific
one (longest ``path``) wins, declaration order breaking ties, so a ``rebuild`` rule on ``./app/requirements.txt``
beats a ``sync`` rule on ``./app``.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from compose.errors import ConfigError
from compose.model import Project, Service, WatchRule
from runtime.images.build.dockerignore import IgnoreMatcher, read_patterns

SYNC_ACTIONS = frozenset({"sync", "sync+restart", "sync+exec"})
ACTIONS = SYNC_ACTIONS | {"rebuild", "restart"}

# Editors write these next to the file being saved; syncing them would only churn the container.
_TEMP_SUFFIXES = (".swp", ".swx", ".swo", ".swn", "~", "___jb_tmp___", "___jb_old___", ".kate-swp", ".tmp.drivedownload")
_TEMP_NAMES = frozenset({"4913", ".DS_Store"})  # vim probes directory writability with a file named 4913
_VCS_DIRS = frozenset({".git", ".hg", ".svn"})


def is_editor_temp(relpath: str) -> bool:
    """True for editor swap/backup/lock files and anything inside a VCS directory."""
    parts = relpath.split("/")
    if any(p in _VCS_DIRS for p in parts):
        return True
    name = parts[-1]
    if name in _TEMP_NAMES or name.endswith(_TEMP_SUFFIXES):
        return True
    # emacs: lock files ".#name", auto-save files "#name#"
    return name.startswith(".#") or (len(name) > 1 and name.startswith("#") and name.endswith("#"))


@dataclass(frozen=True, eq=False)  # identity: triggers are dict keys, one per rule
class Trigger:
    """One compiled watch rule of one service."""

    service: str
    index: int  # position in the service's develop.watch, for messages
    rule: WatchRule
    ignore: IgnoreMatcher
    include: IgnoreMatcher | None
    context: str | None  # build context directory, when the rule path is inside it
    context_ignore: IgnoreMatcher | None
    build_files: frozenset[str] = field(default_factory=frozenset)  # absolute paths

    @property
    def action(self) -> str:
        return self.rule.action

    @property
    def path(self) -> str:
        return self.rule.path

    @property
    def syncs(self) -> bool:
        return self.rule.action in SYNC_ACTIONS

    def describe(self) -> str:
        where = _display(self.rule.path)
        to = f" -> {self.rule.target}" if self.rule.target else ""
        return f"{self.service} watch[{self.index}] {self.rule.action} {where}{to}"

    def relative(self, host_path: str) -> str | None:
        """``host_path`` relative to the rule's path ("" for the path itself), or None when outside it."""
        root = self.rule.path
        if host_path == root:
            return ""
        if host_path.startswith(root.rstrip("/") + "/"):
            return host_path[len(root.rstrip("/")) + 1:]
        return None

    def accepts(self, host_path: str) -> bool:
        """Does a change of ``host_path`` belong to this rule (before build-definition filtering)?"""
        rel = self.relative(host_path)
        if rel is None:
            return False
        display_rel = rel or os.path.basename(host_path)
        if is_editor_temp(display_rel):
            return False
        if rel and self.ignore.matches(rel):
            return False
        if self.context_ignore is not None and self.context is not None:
            ctx_rel = os.path.relpath(host_path, self.context)
            if not ctx_rel.startswith("..") and ctx_rel != "." and self.context_ignore.matches(ctx_rel):
                return False
        if self.include is not None and rel and not _included(self.include, rel) and not os.path.isdir(host_path):
            return False  # a directory is walked into; the include patterns decide for the files below it
        return True

    def is_build_file(self, host_path: str) -> bool:
        return host_path in self.build_files

    def container_path(self, host_path: str) -> str | None:
        """Where a synced file lands: ``target`` joined with its path relative to the rule path."""
        if not self.rule.target:
            return None
        rel = self.relative(host_path)
        if rel is None:
            return None
        if rel == "" and os.path.isfile(self.rule.path):
            return self.rule.target  # a rule on a single file syncs it to target itself
        return posixpath.normpath(posixpath.join(self.rule.target, rel)) if rel else self.rule.target


def _included(include: IgnoreMatcher, rel: str) -> bool:
    """``include`` lists what may trigger; a directory named by a pattern includes what is below it."""
    return include.matches(rel)


def _display(path: str) -> str:
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("../..") else path
    except ValueError:
        return path


def build_definition_files(project: Project, service: Service) -> frozenset[str]:
    """Files that define the build or the project: they never go into a container."""
    files = {os.path.abspath(f) for f in project.config_files}
    files.update(os.path.abspath(f) for f in project.env_files)
    build = service.build
    if build is not None and "://" not in build.context:
        context = Path(build.context)
        dockerfile = Path(build.dockerfile or "Dockerfile")
        dockerfile = dockerfile if dockerfile.is_absolute() else context / dockerfile
        files.update({str(dockerfile), f"{dockerfile}.dockerignore", str(context / ".dockerignore")})
    return frozenset(files)


def compile_service(project: Project, service: Service) -> list[Trigger]:
    rules = service.develop.watch if service.develop else []
    build_files = build_definition_files(project, service)
    context, context_ignore = None, None
    if service.build is not None and "://" not in service.build.context:
        context = service.build.context
        dockerfile = service.build.dockerfile or "Dockerfile"
        dockerfile_path = Path(dockerfile) if os.path.isabs(dockerfile) else Path(context) / dockerfile
        context_ignore = IgnoreMatcher.from_context(Path(context), dockerfile_path) or None
    out = []
    for i, rule in enumerate(rules):
        where = f"services.{service.name}.develop.watch[{i}]"
        if rule.action not in ACTIONS:
            raise ConfigError(f"{where}: unknown watch action {rule.action!r}",
                              hint="use one of: " + ", ".join(sorted(ACTIONS)))
        if rule.action in SYNC_ACTIONS and not rule.target:
            raise ConfigError(f"{where}: action {rule.action} needs a target", hint="add `target: /path/in/container`")
        if rule.action == "sync+exec" and (rule.exec is None or not rule.exec.command):
            raise ConfigError(f"{where}: action sync+exec needs exec.command", hint="add `exec: {command: ...}`")
        if rule.action == "rebuild" and service.build is None:
            raise ConfigError(f"{where}: action rebuild needs the service to have a build section",
                              hint=f"add `build:` to service {service.name}, or use another action")
        if not os.path.exists(rule.path):
            raise ConfigError(f"{where}: the watched path {rule.path} does not exist",
                              hint="create it, or fix `path:` (it is relative to the project directory)")
        in_context = context is not None and not os.path.relpath(rule.path, context).startswith("..")
        out.append(Trigger(service=service.name, index=i, rule=rule, ignore=_matcher(rule.ignore),
                           include=_matcher(rule.include) if rule.include else None,
                           context=context if in_context else None,
                           context_ignore=context_ignore if in_context else None,
                           build_files=build_files))
    return out


def _matcher(patterns: list[str]) -> IgnoreMatcher:
    """Patterns as a .dockerignore file would hold them (cleaned: ``./a/`` is ``a``)."""
    return IgnoreMatcher(read_patterns("\n".join(patterns)))


def compile_rules(project: Project, services: Iterable[str]) -> list[Trigger]:
    triggers: list[Trigger] = []
    for name in services:
        triggers.extend(compile_service(project, project.services[name]))
    return triggers


def route(triggers: Iterable[Trigger], host_path: str) -> list[Trigger]:
    """The rules a change of ``host_path`` fires: per service, the most specific rule that accepts it.

    A build-definition file skips sync-family rules (never copied into a container) but fires ``rebuild``.
    """
    best: dict[str, Trigger] = {}
    for t in triggers:
        if not t.accepts(host_path):
            continue
        if t.syncs and t.is_build_file(host_path):
            continue
        current = best.get(t.service)
        if current is None or len(t.path) > len(current.path):
            best[t.service] = t
    return list(best.values())


def watch_roots(triggers: Iterable[Trigger]) -> list[str]:
    """The directories to watch: each rule's directory (a file rule's parent), nested ones folded."""
    return outermost({t.path if os.path.isdir(t.path) else os.path.dirname(t.path) for t in triggers})


def is_under(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip("/") + "/")


def outermost(directories: Iterable[str]) -> list[str]:
    """The directories, sorted, each nested one folded into the one that holds it."""
    roots: list[str] = []
    for d in sorted(set(directories)):
        if not any(d == r or is_under(d, r) for r in roots):
            roots.append(d)
    return roots
