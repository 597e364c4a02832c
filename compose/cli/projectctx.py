"""What every project command needs: the loaded project (or just its name, for commands that work from
labels alone), the engine, and a progress renderer bound to the global --progress/--ansi flags."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compose.errors import ComposeError, FileNotFound, UsageError

if TYPE_CHECKING:
    from compose.events import Sink
    from compose.model import Project
    from compose.orchestrator import Orchestrator
    from compose.outline import ProjectOutline
    from runtime.api import ContainerState, EngineAPI


@dataclass
class ProjectContext:
    """The loaded project (None when -p alone names it), its name and the engine."""

    args: argparse.Namespace
    name: str
    project: Project | None
    engine: EngineAPI
    outline: ProjectOutline | None = None  # stands in for project where that is enough (compose.outline)

    @property
    def root(self) -> Path:
        return Path(self.engine.root)

    def orchestrator(self, sink: Sink | None = None) -> Orchestrator:
        from compose.orchestrator import Orchestrator

        state_dir: Path | None = self.root / "compose" / self.name
        configs_dir = state_dir
        dry_run = bool(getattr(self.args, "dry_run", False))
        if dry_run:  # the engine is a DryRunEngine (open_engine): the state files stay too
            from compose.dryrun import DryRunSink

            state_dir, sink = None, DryRunSink(sink) if sink is not None else None
        return Orchestrator(self.engine, self.name, self.project, sink=sink,
                            parallel=getattr(self.args, "parallel", -1), state_dir=state_dir, outline=self.outline,
                            dry_run=dry_run, configs_dir=configs_dir)

    def require_project(self) -> Project:
        if self.project is None:
            raise FileNotFound("no configuration file provided: not found",
                               hint="run the command in a directory with a compose.yaml, or pass -f FILE")
        return self.project


def load_project(args: argparse.Namespace) -> Project:
    from compose.cli import projectopts
    from compose.project import load_project as load

    return load(projectopts.load_options(args))


def open_engine(args: argparse.Namespace | None = None) -> EngineAPI:
    """The engine of $HOIST_ROOT; with ``args`` asking for --dry-run, one that changes nothing
    (compose/dryrun.py)."""
    from runtime.engine import open_engine as open_

    root = os.environ.get("HOIST_ROOT")
    engine: EngineAPI = open_(Path(root) if root else None)
    if args is not None and getattr(args, "dry_run", False):
        from compose.dryrun import DryRunEngine

        engine = DryRunEngine(engine)  # type: ignore[assignment]
    return engine


def project_context(args: argparse.Namespace, *, need_file: bool = True) -> ProjectContext:
    """Load the project; with ``need_file=False`` a missing compose file is fine when -p names the project
    (down, ps, stop ... work from labels alone, as compose's do)."""
    project = None
    name = getattr(args, "project_name", None) or os.environ.get("COMPOSE_PROJECT_NAME")
    try:
        project = load_project(args)
        name = project.name
    except FileNotFound:
        if need_file or not name:
            raise
    if not name:
        raise UsageError("no project name", hint="pass -p NAME")
    return ProjectContext(args, name, project, open_engine(args))


@dataclass
class LightContext:
    """For listings and label-driven teardown (ps, down): the project's name and outline, without building the
    typed model when the load cache already knows the project — the model's import alone costs more than `ps`."""

    name: str
    outline: ProjectOutline | None  # None when there is no compose file
    engine: EngineAPI

    @property
    def services(self) -> frozenset[str] | None:
        """Enabled services."""
        return self.outline.services if self.outline is not None else None

    @property
    def known(self) -> frozenset[str] | None:
        """Enabled and disabled services."""
        return self.outline.known if self.outline is not None else None

    def check_services(self, names: Iterable[str]) -> None:
        """A UsageError for the first name the project does not know (none without a compose file)."""
        from compose.errors import UsageError

        for name in names:
            if self.known is not None and name not in self.known:
                raise UsageError(f"no such service: {name}")

    def containers(self, *, services: Iterable[str] = (), oneoff: bool | None = False,
                   all: bool = True) -> list[ContainerState]:
        from compose.listing import project_containers

        return project_containers(self.engine, self.name, services=services, oneoff=oneoff, all=all)


def light_context(args: argparse.Namespace) -> LightContext:
    """The name and outline with the checks and errors of the full load (a load-cache miss validates the whole
    project, model included), without building the model when the cache already vouches for the files."""
    from compose.cli import projectopts
    from compose.outline import ProjectOutline
    from compose.project import check_project

    name = getattr(args, "project_name", None) or os.environ.get("COMPOSE_PROJECT_NAME")
    try:
        loaded = check_project(projectopts.load_options(args))
    except FileNotFound:
        if not name:
            raise
        return LightContext(name, None, open_engine(args))
    return LightContext(loaded.name, ProjectOutline.from_document(loaded.document, loaded.disabled),
                        open_engine(args))


def check_services(ctx: ProjectContext, services: list[str]) -> None:
    if ctx.project is None:
        return
    for s in services:
        if s not in ctx.project.services and s not in ctx.project.disabled_services:
            raise UsageError(f"no such service: {s}")


@contextmanager
def progress(args: argparse.Namespace, title: str) -> Iterator[Sink]:
    """A renderer for the operation, started and stopped around the block (progress goes to stderr)."""
    from compose.render import make_renderer

    stream = sys.stdout if os.environ.get("COMPOSE_STATUS_STDOUT") else sys.stderr
    renderer = make_renderer(getattr(args, "progress", "auto"), stream, getattr(args, "ansi", "auto"))
    renderer.start(title)
    try:
        yield renderer
    finally:
        renderer.stop()


def fail_on(outcome: object, what: str) -> None:
    """Turn a scheduler outcome with failures into the one user-facing error."""
    from compose.errors import OperationError
    from compose.scheduler import Outcome

    assert isinstance(outcome, Outcome)
    if outcome.ok:
        return
    lines = [f"{name}: {exc}" for name, exc in outcome.failed.items()]
    lines += [f"{name}: not started: {reason}" for name, reason in outcome.skipped.items()
              if reason != "cancelled"]
    if not lines:
        return
    raise OperationError(f"{what} failed:\n  " + "\n  ".join(lines))


def parse_scale(values: list[str] | None) -> dict[str, int]:
    out = {}
    for item in values or []:
        name, sep, count = item.partition("=")
        if not sep or not count.isdigit():
            raise UsageError(f"invalid --scale value {item!r}", hint="use SERVICE=NUM")
        out[name] = int(count)
    return out


def parse_env(values: list[str] | None) -> dict[str, str]:
    env = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep:
            if key in os.environ:
                env[key] = os.environ[key]
            continue
        env[key] = value
    return env


__all__ = ["ComposeError", "ProjectContext", "check_services", "fail_on", "load_project", "open_engine",
           "parse_env", "parse_scale", "progress", "project_context"]
