"""The project outline `down` works from: the same service names and grace periods as the typed model, read
from the canonical document; and `down` driven by it (orphans, grace periods, unknown services)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from compose.cli.commands.down import outline_context
from compose.errors import UsageError
from compose.events import Recorder
from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from compose.outline import ProjectOutline
from compose.project import LoadOptions, load_document, load_project
from runtime.api import ContainerState
from tests.support.fake_engine import FakeEngine

COMPOSE = """\
services:
  web:
    image: busybox
    stop_grace_period: 1m30s
  db:
    image: busybox
    stop_grace_period: 250ms
  plain:
    image: busybox
  debug:
    image: busybox
    profiles: [tools]
    stop_grace_period: 5s
"""


def _options(tmp_path: Path, **kw: object) -> LoadOptions:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return LoadOptions(cwd=str(tmp_path), environ={}, use_cache=False, **kw)  # type: ignore[arg-type]


def test_from_document_equals_from_the_model(tmp_path: Path) -> None:
    loaded = load_document(_options(tmp_path))
    outline = ProjectOutline.from_document(loaded.document, loaded.disabled)
    assert outline == ProjectOutline.from_project(load_project(_options(tmp_path)))
    assert outline.services == {"web", "db", "plain"} and outline.disabled == {"debug"}
    assert outline.known == {"web", "db", "plain", "debug"}
    assert outline.stop_grace_periods == {"web": 90.0, "db": 0.25}  # enabled services that set one


def test_a_profile_enabled_service_counts_as_enabled(tmp_path: Path) -> None:
    loaded = load_document(_options(tmp_path, profiles=["tools"]))
    outline = ProjectOutline.from_document(loaded.document, loaded.disabled)
    assert outline.disabled == frozenset() and outline.stop_grace_periods["debug"] == 5.0


class _TimedEngine(FakeEngine):
    """Records the stop timeout each container got."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: dict[str, float | None] = {}

    def container_stop(self, ref: str, *, timeout: float | None = None) -> ContainerState:
        self.timeouts[self._find(ref).name] = timeout
        return super().container_stop(ref, timeout=timeout)


def _running(engine: FakeEngine, services: dict) -> None:  # type: ignore[type-arg]
    project = project_from_document({"name": "p", "services": services}, working_dir="/w")
    engine.add_image("busybox")
    assert Orchestrator(engine, "p", project).up(UpOptions()).outcome.ok


def test_down_by_outline_keeps_grace_periods_and_orphans() -> None:
    engine = _TimedEngine()
    _running(engine, {"web": {"image": "busybox"}, "db": {"image": "busybox"}, "old": {"image": "busybox"}})
    outline = ProjectOutline(frozenset({"web", "db"}), frozenset(), {"web": 7.0})
    rec = Recorder()
    assert Orchestrator(engine, "p", None, sink=rec, outline=outline).down().ok
    assert engine.timeouts == {"p-web-1": 7.0, "p-db-1": None}  # None: the container's own
    # "old" is no service of the outline: an orphan, warned about and left alone.
    assert any("orphan containers (p-old-1)" in e.details for e in rec.events)
    assert [c.name for c in engine.containers.values()] == ["p-old-1"]


def test_down_timeout_flag_wins_over_the_grace_period() -> None:
    engine = _TimedEngine()
    _running(engine, {"web": {"image": "busybox"}})
    outline = ProjectOutline(frozenset({"web"}), frozenset(), {"web": 7.0})
    assert Orchestrator(engine, "p", None, outline=outline).down(timeout=1.0).ok
    assert engine.timeouts == {"p-web-1": 1.0}


def test_a_disabled_service_is_no_orphan() -> None:
    engine = _TimedEngine()
    _running(engine, {"web": {"image": "busybox"}, "debug": {"image": "busybox"}})
    rec = Recorder()
    outline = ProjectOutline(frozenset({"web"}), frozenset({"debug"}))
    assert Orchestrator(engine, "p", None, sink=rec, outline=outline).down().ok
    assert not engine.containers and not any("orphan" in e.details for e in rec.events)


def _args(tmp_path: Path, *services: str) -> argparse.Namespace:
    return argparse.Namespace(files=None, project_name=None, project_directory=str(tmp_path), profiles=None,
                              env_files=None, services=list(services), parallel=-1)


def test_outline_context_loads_name_and_outline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    monkeypatch.setenv("HOIST_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("HOIST_NO_LOAD_CACHE", "1")
    monkeypatch.chdir(tmp_path)
    ctx = outline_context(_args(tmp_path, "web", "debug"))  # a disabled service may be named too
    assert ctx.name == load_document(_options(tmp_path)).name and ctx.project is None
    assert ctx.outline is not None and ctx.outline.stop_grace_periods["web"] == 90.0
    assert ctx.orchestrator().outline == ctx.outline
    with pytest.raises(UsageError, match="no such service: nope"):
        outline_context(_args(tmp_path, "nope"))


def test_outline_context_without_a_file_needs_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOIST_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    args = _args(tmp_path)
    with pytest.raises(Exception, match="no configuration file"):
        outline_context(args)
    args.project_name = "named"
    ctx = outline_context(args)
    assert ctx.name == "named" and ctx.outline is None
