"""--dry-run (compose/dryrun.py) over the fake engine: down/stop/start/restart/kill/pause/unpause/rm report
what they would do with compose's DRY-RUN MODE prefix and change nothing; commands that cannot simulate refuse
the flag before doing anything; ps --format takes Go templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import runtime.engine
from compose.cli.main import main
from compose.dryrun import DryRunEngine
from tests.support.fake_engine import FakeEngine

COMPOSE = """
services:
  db:
    image: busybox
    volumes: [data:/data]
  web:
    image: busybox
    depends_on:
      db: {condition: service_started}
volumes:
  data: {}
"""
CHANGES = {"create", "start", "stop", "kill", "pause", "unpause", "remove", "restart", "exec", "network_remove",
           "network_create", "network_connect", "network_disconnect", "volume_create",
           "volume_remove", "image_remove"}


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> FakeEngine:
    fake = FakeEngine(tmp_path / "root")
    fake.add_image("busybox")
    # The real opening is replaced, not projectctx.open_engine: its dry-run wrapping is under test.
    monkeypatch.setattr(runtime.engine, "open_engine", lambda root=None: fake)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "demo")
    assert main(["--progress", "quiet", "up", "-d"]) == 0
    capsys.readouterr()
    fake.calls.clear()
    return fake


def states(engine: FakeEngine) -> dict[str, str]:
    return {c.name: c.status for c in engine.containers.values()}


@pytest.mark.parametrize("argv", [["down", "-v", "--rmi", "all"], ["stop"], ["restart"], ["kill"], ["pause"],
                                  ["rm", "-s", "-f"]])
def test_simulated_commands_report_and_change_nothing(engine: FakeEngine, capsys: pytest.CaptureFixture[str],
                                                      argv: list[str]) -> None:
    before = states(engine)
    assert main(["--dry-run", "--progress", "plain", *argv]) == 0
    err = capsys.readouterr().err
    assert "DRY-RUN MODE - Container demo-web-1" in err and "DRY-RUN MODE - Container demo-db-1" in err, err
    assert not [c for c in engine.calls if c[0] in CHANGES], engine.calls
    assert states(engine) == before
    if argv[0] == "down":
        assert "DRY-RUN MODE - Volume demo_data Removed" in err


def test_start_of_stopped_services_is_simulated_too(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--progress", "quiet", "stop"]) == 0
    engine.calls.clear()
    assert main(["--dry-run", "--progress", "plain", "start"]) == 0
    assert "DRY-RUN MODE - Container demo-web-1 Started" in capsys.readouterr().err
    assert not [c for c in engine.calls if c[0] in CHANGES]
    assert set(states(engine).values()) == {"exited"}


@pytest.mark.parametrize("argv", [["exec", "web", "true"], ["pull"], ["build"], ["scale", "web=2"],
                                  ["container", "rm", "-f", "demo-web-1"], ["volume", "prune", "-f"]])
def test_commands_that_cannot_simulate_refuse_before_doing_anything(
        engine: FakeEngine, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(["--dry-run", *argv]) == 1
    err = capsys.readouterr().err
    assert f"--dry-run is not supported by `hoist {argv[0]}`: nothing was done" in err
    assert engine.calls == []


def test_the_dry_run_engine_passes_reads_and_refuses_what_it_cannot_simulate(engine: FakeEngine) -> None:
    dry = DryRunEngine(engine)  # type: ignore[arg-type]
    assert dry.container_inspect("demo-web-1").status == "running"
    assert dry.container_stop("demo-web-1").status == "exited"
    assert engine.container_inspect("demo-web-1").status == "running"
    with pytest.raises(AttributeError, match="cannot simulate the engine's network_create"):
        dry.network_create  # noqa: B018 - the attribute lookup is what refuses


def test_ps_format_go_templates(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ps", "--format", "{{.Service}} {{.State}}"]) == 0
    assert sorted(capsys.readouterr().out.splitlines()) == ["db running", "web running"]
    assert main(["ps", "--format", "table {{.Name}}\\t{{.Service}}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "NAME\tSERVICE" and sorted(lines[1:]) == ["demo-db-1\tdb", "demo-web-1\tweb"]
    assert main(["ps", "--format", "{{json .}}"]) == 0
    assert {json.loads(x)["Service"] for x in capsys.readouterr().out.splitlines()} == {"db", "web"}


def test_watch_dry_run_says_what_each_watched_files_change_would_do(
        engine: FakeEngine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app" / "static").mkdir(parents=True)
    (tmp_path / "app" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "app" / "server.py").write_text("b\n")
    (tmp_path / "app" / "static" / "index.html").write_text("a\n")
    (tmp_path / "app" / "node_modules" / "x" / "big.js").write_text("c\n")
    (tmp_path / "app" / "notes.tmp").write_text("d\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / "requirements.txt").write_text("x\n")
    (tmp_path / "compose.yaml").write_text("""
services:
  web:
    build: .
    develop:
      watch:
        - {action: sync, path: ./app, target: /srv/app, ignore: [node_modules/, "*.tmp"]}
        - {action: rebuild, path: ./requirements.txt}
        - {action: sync+restart, path: ./Dockerfile, target: /srv/Dockerfile}
""")
    assert main(["--dry-run", "watch"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(line.startswith("DRY-RUN MODE - ") for line in lines)
    body = [line.removeprefix("DRY-RUN MODE - ") for line in lines]
    assert body[:3] == ["web watch[0] sync app -> /srv/app", "web watch[1] rebuild requirements.txt",
                        "web watch[2] sync+restart Dockerfile -> /srv/Dockerfile"]
    files = body[3:]
    assert "  app/server.py: web sync -> /srv/app/server.py" in files
    assert "  app/static/index.html: web sync -> /srv/app/static/index.html" in files
    assert "  app/notes.tmp: ignored" in files
    assert "  requirements.txt: web rebuild" in files
    assert "  Dockerfile: ignored" in files  # a build-definition file is never synced into a container
    assert not any("node_modules" in line for line in files)  # an ignored directory is not walked into
    assert engine.calls == []  # nothing was started, built or watched
