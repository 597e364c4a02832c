"""Action dispatch over a fake engine and a fake container filesystem: what each action does, in which
order, rebuild before anything else, a failing build that keeps the containers, re-syncs after a start."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compose.model import project_from_document
from compose.orchestrator import Orchestrator, UpOptions
from compose.watch.actions import ActionRunner, Outcome, format_outcome
from compose.watch.rules import Trigger, compile_rules
from compose.watch.sync import SyncStats
from runtime.api import ContainerState, ImageConfig
from runtime.errors import BuildError
from tests.support.fake_engine import FakeEngine


class FakeFS:
    def __init__(self, log: list[tuple[str, ...]], tree_copies: int = 0) -> None:
        self.log = log
        self.tree_copies = tree_copies

    def put(self, host_path: str, target: str) -> None:
        self.log.append(("put", target))

    def remove(self, target: str) -> bool:
        self.log.append(("remove", target))
        return True

    def sync_tree(self, host_root: str, target: str, accept: Any) -> SyncStats:
        self.log.append(("tree", target))
        return SyncStats(copied=self.tree_copies)

    def close(self) -> None:
        self.log.append(("close",))


RULES = [
    {"path": "{d}/app", "action": "sync", "target": "/app"},
    {"path": "{d}/conf", "action": "sync+restart", "target": "/etc/app"},
    {"path": "{d}/hooks", "action": "sync+exec", "target": "/hooks", "exec": {"command": ["touch", "/x"]}},
    {"path": "{d}/bin", "action": "restart"},
    {"path": "{d}/requirements.txt", "action": "rebuild"},
]


@pytest.fixture
def env(tmp_path: Path) -> Any:
    for name in ("app", "conf", "hooks", "bin"):
        (tmp_path / name).mkdir()
    (tmp_path / "app" / "main.py").write_text("x")
    (tmp_path / "requirements.txt").write_text("a\n")
    rules = [{k: (v.format(d=tmp_path) if isinstance(v, str) else v) for k, v in r.items()} for r in RULES]
    doc = {"name": "p", "services": {
        "web": {"build": {"context": str(tmp_path)}, "develop": {"watch": rules}},
        "worker": {"build": {"context": str(tmp_path)}, "depends_on": {"web": {"condition": "service_started",
                                                                               "restart": True}}},
        "other": {"build": {"context": str(tmp_path)}, "depends_on": {"web": {"condition": "service_started"}}}}}
    project = project_from_document(doc, working_dir=str(tmp_path))
    engine = FakeEngine()
    for svc in ("web", "worker", "other"):
        engine.add_image(f"p-{svc}")
    assert Orchestrator(engine, "p", project).up(UpOptions()).outcome.ok
    engine.calls.clear()
    log: list[tuple[str, ...]] = []
    lines: list[str] = []
    runner = ActionRunner(engine, project, printer=lines.append, open_fs=lambda c: FakeFS(log), lock=nullcontext)
    triggers = {t.rule.action: t for t in compile_rules(project, ["web"])}

    class Env:
        pass

    e = Env()
    e.__dict__.update(dir=tmp_path, project=project, engine=engine, log=log, lines=lines, runner=runner,
                      triggers=triggers)
    return e


def fire(env: Any, action: str, *names: str) -> tuple[Trigger, list[str]]:
    return env.triggers[action], [str(env.dir / n) for n in names]


def test_sync_copies_changed_and_deletes_removed_files_without_restarting(env: Any) -> None:
    outcome = env.runner.apply("web", dict([fire(env, "sync", "app/main.py", "app/gone.py")]))
    assert outcome.ok, outcome.error
    assert env.log == [("put", "/app/main.py"), ("remove", "/app/gone.py"), ("close",)]
    assert env.engine.calls == []
    assert "synced 1 and deleted 1 in p-web-1" in outcome.done


def test_sync_restart_syncs_then_restarts_the_service_once(env: Any) -> None:
    (env.dir / "conf" / "a.ini").write_text("x")
    (env.dir / "conf" / "b.ini").write_text("y")
    outcome = env.runner.apply("web", dict([fire(env, "sync+restart", "conf/a.ini", "conf/b.ini")]))
    assert outcome.ok, outcome.error
    assert [e[0] for e in env.log] == ["put", "put", "close"]
    restarted = [ref for op, ref in env.engine.calls if op == "restart"]
    assert restarted == ["p-web-1", "p-worker-1"]  # the dependent with restart: true goes along
    assert "restarted web" in outcome.done


def test_sync_exec_runs_the_command_after_the_sync(env: Any) -> None:
    (env.dir / "hooks" / "h").write_text("x")
    outcome = env.runner.apply("web", dict([fire(env, "sync+exec", "hooks/h")]))
    assert outcome.ok, outcome.error
    assert env.log[0] == ("put", "/hooks/h")
    assert env.engine.calls == [("exec", "p-web-1")]
    assert "ran `touch /x` in p-web-1" in outcome.done


def test_restart_action_copies_nothing(env: Any) -> None:
    outcome = env.runner.apply("web", dict([fire(env, "restart", "bin/tool")]))
    assert outcome.ok and env.log == []
    assert ("restart", "p-web-1") in env.engine.calls


def _fake_build(env: Any, monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> list[str]:
    import compose.imagesync as imagesync

    built: list[str] = []

    def build_service(engine: FakeEngine, project: Any, svc: Any, policy: Any, report: Any) -> str:
        built.append(svc.name)
        if fail:
            raise BuildError("Dockerfile:3: RUN failed: exit code: 1")
        old = engine.image_inspect(f"p-{svc.name}")
        engine.images[f"p-{svc.name}"] = replace(old, id="sha256:" + "f" * 64, config=ImageConfig(cmd=["new"]))
        return f"p-{svc.name}"

    monkeypatch.setattr(imagesync, "build_service", build_service)
    return built


def test_rebuild_wins_over_sync_and_recreates_with_restart_dependents(env: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    built = _fake_build(env, monkeypatch)
    outcome = env.runner.apply("web", dict([fire(env, "sync", "app/main.py"),
                                            fire(env, "rebuild", "requirements.txt")]))
    assert outcome.ok, outcome.error
    assert built == ["web"] and env.log == []  # no sync: the new image has the files
    ops = [(op, ref) for op, ref in env.engine.calls if op in ("create", "start", "restart", "remove")]
    assert ("create", "p-web-1") in ops and ("restart", "p-worker-1") in ops
    assert not any(ref == "p-other-1" for _, ref in ops)  # no restart: true, left alone
    assert any(d.startswith("recreated p-web-1") for d in outcome.done)


def test_failing_build_keeps_the_running_container(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_build(env, monkeypatch, fail=True)
    before = env.engine.container_inspect("p-web-1")
    outcome = env.runner.apply("web", dict([fire(env, "rebuild", "requirements.txt")]))
    assert not outcome.ok and "build of web failed, the running containers are kept" in outcome.error
    assert env.engine.calls == []
    after = env.engine.container_inspect("p-web-1")
    assert (after.id, after.status) == (before.id, "running")
    assert "ERROR: build of web failed" in format_outcome(outcome)


def test_a_gone_container_is_reported_and_nothing_raises(env: Any) -> None:
    env.engine.container_stop("p-web-1")
    outcome = env.runner.apply("web", dict([fire(env, "sync+restart", "conf/a.ini")]))
    assert "not synced: no running container" in outcome.done[0]


def test_resync_after_a_start_restarts_a_sync_restart_service(env: Any) -> None:
    env.runner.open_fs = lambda c: FakeFS(env.log, tree_copies=2)
    web: ContainerState = env.engine.container_inspect("p-web-1")
    outcome = env.runner.resync("web", web, env.triggers.values(), "container created")
    assert outcome is not None and outcome.ok, outcome
    assert [e for e in env.log if e[0] == "tree"] == [("tree", "/app"), ("tree", "/etc/app"), ("tree", "/hooks")]
    assert ("restart", "p-web-1") in env.engine.calls and ("exec", "p-web-1") in env.engine.calls


def test_resync_with_nothing_changed_restarts_nothing(env: Any) -> None:
    web = env.engine.container_inspect("p-web-1")
    outcome = env.runner.resync("web", web, env.triggers.values(), "container restarted")
    assert outcome is not None and outcome.ok
    assert env.engine.calls == []


def test_format_outcome_says_what_which_rule_what_was_done_and_how_long() -> None:
    o = Outcome("web", [f"/p/app/f{i}.py" for i in range(5)], ["web watch[0] sync app -> /app"],
                ["synced 5 and deleted 0 in p-web-1"], seconds=0.0123)
    line = format_outcome(o, base="/p")
    assert line == ("watch: web: app/f0.py, app/f1.py, app/f2.py (+2 more) | web watch[0] sync app -> /app | "
                    "synced 5 and deleted 0 in p-web-1 | 12 ms")
