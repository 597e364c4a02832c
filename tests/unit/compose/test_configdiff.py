"""Why `up` recreates: the keys of a service that changed since its container was made (compose/configdiff.py)."""

from __future__ import annotations

from pathlib import Path

from compose import configdiff
from compose.confighash import service_config_hash
from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from tests.support.fake_engine import FakeEngine


def _orchestrator(engine: FakeEngine, services: dict, state: Path, **kw) -> Orchestrator:  # type: ignore[type-arg]
    project = project_from_document({"name": "p", "services": services}, working_dir="/w")
    return Orchestrator(engine, "p", project, state_dir=state, **kw)


def test_changed_keys_names_added_removed_and_changed_keys(tmp_path: Path) -> None:
    old = {"image": "busybox", "environment": {"A": "1"}, "user": "nobody"}
    new = {"image": "busybox", "environment": {"A": "2"}, "ports": [{"target": 80}], "depends_on": {"x": {}}}
    configdiff.remember(tmp_path, service_config_hash(old), old)
    assert configdiff.changed_keys(tmp_path, service_config_hash(old), new) == ["environment", "ports", "user"]
    assert configdiff.changed_keys(tmp_path, "0" * 64, new) is None  # never seen: no explanation


def test_a_recreate_names_what_changed_and_old_configs_are_forgotten(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.add_image("busybox")
    state = tmp_path / "state"
    first = {"web": {"image": "busybox", "environment": {"A": "1"}}, "db": {"image": "busybox"}}
    assert _orchestrator(engine, first, state).up(UpOptions()).outcome.ok
    assert len(list((state / "configs").iterdir())) == 2

    changed = {"web": {"image": "busybox", "environment": {"A": "2"}, "command": ["sleep", "1"]},
               "db": {"image": "busybox"}}
    orch = _orchestrator(engine, changed, state)
    _, plan = orch.plan_up(UpOptions())
    assert sorted(plan.describe()) == ["noop p-db-1", "recreate p-web-1 (configuration changed: command, environment)"]
    assert orch.up(UpOptions()).outcome.ok
    _, plan = orch.plan_up(UpOptions())
    assert not plan.changes
    # web's first config went with the container it described
    assert len(list((state / "configs").iterdir())) == 2


def test_a_dry_run_reads_the_configs_and_writes_nothing(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.add_image("busybox")
    state = tmp_path / "state"
    assert _orchestrator(engine, {"web": {"image": "busybox", "user": "a"}}, state).up(UpOptions()).outcome.ok
    before = sorted(p.name for p in (state / "configs").iterdir())
    dry = _orchestrator(engine, {"web": {"image": "busybox", "user": "b"}}, None, configs_dir=state)  # type: ignore[arg-type]
    _, plan = dry.plan_up(UpOptions())
    assert plan.describe() == ["recreate p-web-1 (configuration changed: user)"]
    assert sorted(p.name for p in (state / "configs").iterdir()) == before
