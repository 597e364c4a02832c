"""The whole loading pipeline: files -> YAML with marks -> interpolation -> include / extends -> merge ->
schema validation -> profiles -> normalization -> reference checks -> typed model.

``load_project(LoadOptions(...))`` is the one entry point; ``load_document`` stops before the typed model
(``hoist config`` prints that document). Only the CLI prints: warnings go to ``options.warn``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compose.errors import ConfigError, Location
from compose.sourcemap import SourceMap

if TYPE_CHECKING:
    from compose.model import Project


@dataclass
class LoadOptions:
    """Everything that decides what a project is. ``environ=None`` means the process environment."""

    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    profiles: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    environ: Mapping[str, str] | None = None
    cwd: str | None = None
    services: list[str] = field(default_factory=list)  # services named on the command line (profiles)
    interpolate: bool = True
    normalize: bool = True
    resolve_paths: bool = True
    consistency: bool = True
    resolve_environment: bool = True
    stdin: str | None = None  # text of `-f -` (read from sys.stdin when None)
    use_cache: bool = True
    warn: Callable[[str], None] | None = None


@dataclass
class LoadedDocument:
    """The canonical document plus what was learned on the way."""

    document: dict[str, Any]
    sources: SourceMap
    name: str
    working_dir: str
    files: list[str]
    env_files: list[str]
    environ: dict[str, str]
    profiles: list[str]
    disabled: dict[str, Any]
    warnings: list[str]
    used_variables: set[str]


class _Pipeline:
    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.warnings: list[str] = []
        self.used: set[str] = set()
        self._warned: set[str] = set()
        self._parsed: dict[str, tuple[list[Any], SourceMap]] = {}
        self._no_variables: set[str] = set()  # files whose text has no `$`: interpolation has nothing to do

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.options.warn:
            self.options.warn(message)

    # one file -------------------------------------------------------------------------------------

    def read(self, path: str) -> str:
        if path == "-":
            return self.options.stdin if self.options.stdin is not None else sys.stdin.read()
        from compose.loadcache import record_read

        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            record_read(path, text)
            return text
        except FileNotFoundError:
            from compose.errors import FileNotFound

            raise FileNotFound(f"open {path}: no such file or directory", location=Location(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}", location=Location(path)) from None

    def load_file(self, path: str, environ: Mapping[str, str], chain: tuple[str, ...] = (),
                  base_dir: str | None = None) -> tuple[dict[str, Any], SourceMap]:
        """One file: parsed, interpolated, includes applied, extends resolved."""
        from compose.extends import resolve_extends
        from compose.include import apply_include
        from compose.merge import merge_documents

        display = "stdin" if path == "-" else path
        documents, sources = self.parsed(path)
        if not documents:
            raise ConfigError("empty compose file", location=Location(display),
                              hint="a compose file needs at least a `services:` section")
        for doc in documents:
            if not isinstance(doc, dict):
                raise ConfigError("Top-level object must be a mapping", location=Location(display, 1, 1),
                                  hint="a compose file starts with keys such as `services:`")
        if self.options.interpolate and path not in self._no_variables:
            from compose.interpolation import Interpolator

            interp = Interpolator(environ, warn=self._warn_once)
            documents = [interp.interpolate(d, sources) for d in documents]
            self.used |= interp.used
        document = documents[0]
        for extra in documents[1:]:
            document, sources = merge_documents(document, extra, sources, sources)
        # Relative paths in a file read from stdin are relative to the current directory.
        real_path = os.path.join(os.path.abspath(self.options.cwd or os.getcwd()), "-") if path == "-" else path
        document = apply_include(document, sources, real_path, environ, chain + (real_path,),
                                 self._subproject)

        def load_extended(p: str) -> tuple[dict[str, Any], SourceMap]:
            doc, src = self.load_file(p, environ, chain)
            return doc, src

        document = resolve_extends(document, sources, real_path, load_extended, base_dir)
        return document, sources

    def parsed(self, path: str) -> tuple[list[Any], SourceMap]:
        """The YAML documents of ``path`` (parsed once per load, whatever interpolation follows)."""
        from compose.yamlfile import load_yaml_documents

        if path not in self._parsed:
            text = self.read(path)
            documents, sources = load_yaml_documents(text, "stdin" if path == "-" else path)
            self._parsed[path] = ([d for d in documents if d is not None], sources)
            if "$" not in text:
                self._no_variables.add(path)
        documents, sources = self._parsed[path]
        return list(documents), SourceMap(dict(sources.locations))

    def declared_name(self, files: list[str], environ: Mapping[str, str]) -> str | None:
        """The top-level ``name:`` (last file wins), interpolated on its own, before anything else is."""
        from compose.interpolation import Interpolator

        name = None
        for path in files:
            documents, sources = self.parsed(path)
            for doc in documents:
                if isinstance(doc, dict) and isinstance(doc.get("name"), str):
                    name = Interpolator(environ).interpolate(doc["name"], sources, ("name",)) \
                        if self.options.interpolate else doc["name"]
        return name

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self.warn(message)

    def _subproject(self, files: list[str], project_dir: str, environ: Mapping[str, str],
                    chain: tuple[str, ...]) -> dict[str, Any]:
        from compose.paths import rebase_document

        document, _ = self.merge_files(files, environ, chain, base_dir=project_dir)
        return rebase_document(document, project_dir)

    def merge_files(self, files: list[str], environ: Mapping[str, str], chain: tuple[str, ...] = (),
                    base_dir: str | None = None) -> tuple[dict[str, Any], SourceMap]:
        from compose.merge import merge_documents

        document: dict[str, Any] | None = None
        sources = SourceMap()
        for path in files:
            doc, src = self.load_file(path, environ, chain, base_dir)
            if document is None:
                document, sources = doc, src
            else:
                document, sources = merge_documents(document, doc, sources, src)
        from compose.yamlfile import strip_merge_tags

        return strip_merge_tags(document or {}), sources


def _project_name(options: LoadOptions, explicit: str | None, document: dict[str, Any], working_dir: str,
                  sources: SourceMap) -> str:
    from compose.discovery import normalize_project_name, project_name_from_dir

    if explicit:
        return explicit
    name = document.get("name")
    if name:
        normalized = normalize_project_name(str(name))
        if not normalized:
            raise ConfigError(f'invalid project name "{name}" (top-level `name:`): nothing is left once '
                              "normalized", location=sources.get(("name",)),
                              hint="use lowercase letters, digits, '-' and '_', starting with a letter or digit")
        return normalized
    return project_name_from_dir(working_dir)


def load_document(options: LoadOptions) -> LoadedDocument:
    """Load, merge, validate and normalize; the canonical document and what was learned on the way."""
    from compose.discovery import discover

    found = discover(files=options.files or None, project_directory=options.project_directory,
                     project_name=options.project_name, profiles=options.profiles or None,
                     env_files=options.env_files or None, environ=options.environ, cwd=options.cwd)
    pipeline = _Pipeline(options)
    for message in found.warnings:
        pipeline.warn(message)
    environ = dict(found.environ)
    # An explicit name is visible to interpolation; a name from `name:` is added after the merge.
    declared = None if found.project_name else pipeline.declared_name(found.files, environ)
    name = _project_name(options, found.project_name, {"name": declared}, found.working_dir, SourceMap())
    # The project name is visible to interpolation as COMPOSE_PROJECT_NAME (compose-go does the same).
    if found.project_name or "COMPOSE_PROJECT_NAME" not in environ:
        environ["COMPOSE_PROJECT_NAME"] = name
    document, sources = pipeline.merge_files(found.files, environ)
    if "version" in document:
        pipeline.warn(f"{found.files[0]}: the attribute `version` is obsolete, it will be ignored, "
                      "please remove it to avoid potential confusion")
        document = {k: v for k, v in document.items() if k != "version"}

    _validate(document, sources)

    from compose.profiles import select_services

    services = document.get("services") or {}
    if not isinstance(services, dict):
        services = {}
    enabled, disabled_names, active = select_services(services, found.profiles, options.services)
    disabled_raw = {n: services[n] for n in disabled_names}
    active_doc = dict(document)
    active_doc["services"] = {n: services[n] for n in enabled}
    _check_disabled_dependencies(active_doc["services"], disabled_raw, pipeline, sources)

    from compose.normalize import NormalizeOptions, canonicalize

    norm_options = NormalizeOptions(project_name=name, working_dir=found.working_dir, environ=environ,
                                    resolve_paths=options.resolve_paths, normalize=options.normalize,
                                    resolve_environment=options.resolve_environment,
                                    consistency=options.consistency, warn=pipeline.warn)
    canonical = canonicalize(active_doc, norm_options, sources)
    if options.consistency:
        for message in _check_references(canonical, sources):
            pipeline.warn(message)
    disabled = {}
    if disabled_raw:
        disabled = canonicalize({"services": disabled_raw}, NormalizeOptions(
            project_name=name, working_dir=found.working_dir, environ=environ,
            resolve_paths=options.resolve_paths, normalize=options.normalize,
            resolve_environment=False), sources)["services"]
    return LoadedDocument(document=canonical, sources=sources, name=name, working_dir=found.working_dir,
                          files=found.files, env_files=found.env_files, environ=environ, profiles=active,
                          disabled=disabled, warnings=pipeline.warnings, used_variables=pipeline.used)


def _validate(document: dict[str, Any], sources: SourceMap) -> None:
    try:
        from compose.schema import validate_document
    except ImportError:  # the schema module is optional until it lands
        return
    validate_document(document, sources)


def _check_references(document: dict[str, Any], sources: SourceMap) -> list[str]:
    try:
        from compose.semantic import check_references
    except ImportError:
        from compose.graph import ServiceGraph

        ServiceGraph.from_document(document).check_cycles()
        return []
    return check_references(document, sources)


def _check_disabled_dependencies(enabled: dict[str, Any], disabled: dict[str, Any], pipeline: _Pipeline,
                                 sources: SourceMap) -> None:
    """A dependency switched off by a profile: an error unless ``required: false`` (then a warning)."""
    for name, svc in enabled.items():
        deps = (svc or {}).get("depends_on") or {}
        items = deps.items() if isinstance(deps, dict) else ((d, None) for d in deps)
        for dep, spec in items:
            if dep not in disabled:
                continue
            if isinstance(spec, dict) and spec.get("required") is False:
                pipeline.warn(f"service {name} depends on {dep}, which is disabled (optional dependency)")
                continue
            profiles = (disabled[dep] or {}).get("profiles") or []
            raise ConfigError(
                f"service {dep} is required by {name} but is disabled. Can be enabled by profiles "
                f"[{', '.join(map(str, profiles))}]",
                location=sources.get(("services", name, "depends_on", dep)),
                hint=f"run with --profile {profiles[0] if profiles else '...'} or name {dep} on the command line")


def _model(loaded: LoadedDocument) -> Project:
    from compose.model import project_from_document

    return project_from_document(loaded.document, working_dir=loaded.working_dir, config_files=loaded.files,
                                 env_files=loaded.env_files, environment=loaded.environ,
                                 profiles=loaded.profiles, disabled=loaded.disabled)


def load_project(options: LoadOptions) -> Project:
    """Load the whole project into the typed model (cached by input contents and used variables)."""
    built: dict[str, Project] = {}

    def load_and_build(o: LoadOptions) -> LoadedDocument:
        loaded = load_document(o)
        built["project"] = _model(loaded)  # only a project that builds is cached
        return loaded

    if not options.use_cache:
        load_and_build(options)
        return built["project"]
    from compose.loadcache import cached_load

    loaded = cached_load(options, load_and_build)
    return built["project"] if "project" in built else _model(loaded)


def check_project(options: LoadOptions) -> LoadedDocument:
    """Everything ``load_project`` checks, without building the model when the cache already vouches for it
    (``config -q`` on an unchanged project)."""
    def load_and_build(o: LoadOptions) -> LoadedDocument:
        loaded = load_document(o)
        _model(loaded)
        return loaded

    if not options.use_cache:
        return load_and_build(options)
    from compose.loadcache import cached_load

    return cached_load(options, load_and_build)
