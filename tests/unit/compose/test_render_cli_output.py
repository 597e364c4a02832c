"""The CLI commands over a fake engine (no root): ps json fields, exit codes, flag checks, dry run,
`port` output, and the plain progress lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.cli.main import main
from compose.imagesync import ImagePolicy, decide
from compose.model import Service
from compose.summary import human_duration, status_text
from runtime.api import ContainerState, PortBinding
from tests.support.fake_engine import FakeEngine, use_demo_project

COMPOSE = """
services:
  db:
    image: busybox
    healthcheck: {test: ["CMD", "true"], interval: 1s}
  web:
    image: busybox
    ports: ["8080:80"]
    expose: ["9000"]
    depends_on:
      db: {condition: service_healthy}
"""


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeEngine:
    return use_demo_project(monkeypatch, FakeEngine(tmp_path / "root"), tmp_path, COMPOSE)


def test_up_ps_json_and_exit_codes(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--progress", "plain", "up", "-d"]) == 0
    err = capsys.readouterr().err
    assert " Container demo-db-1 Healthy" in err and " Container demo-web-1 Started" in err
    # The fake engine does not allocate ports: give web's container the binding the runtime would report.
    web = next(c for c in engine.containers.values() if c.name == "demo-web-1")
    from dataclasses import replace

    engine.containers[web.id] = replace(web, ports=[PortBinding(80, "tcp", "0.0.0.0", 8080)])
    assert main(["ps", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by = {r["Service"]: r for r in rows}
    for key in ("ID", "Name", "Image", "Command", "Project", "Service", "State", "Health", "ExitCode",
                "Publishers", "Status", "Labels"):
        assert key in by["web"]
    assert by["db"]["Health"] == "healthy" and by["web"]["State"] == "running"
    assert by["web"]["Publishers"] == [
        {"URL": "0.0.0.0", "TargetPort": 80, "PublishedPort": 8080, "Protocol": "tcp"},
        {"URL": "", "TargetPort": 9000, "PublishedPort": 0, "Protocol": "tcp"}]
    assert main(["port", "web", "80"]) == 0
    assert capsys.readouterr().out == "0.0.0.0:8080\n"
    assert main(["ps", "-q"]) == 0
    assert len(capsys.readouterr().out.split()) == 2
    assert main(["ps", "--services"]) == 0
    assert capsys.readouterr().out.split() == ["db", "web"]
    assert main(["up", "-d"]) == 0
    assert "Nothing to do" in capsys.readouterr().err
    assert main(["down"]) == 0
    assert engine.containers == {}


def test_failing_dependency_exit_code_and_message(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    engine.healthy_after["demo-db-1"] = None
    assert main(["--progress", "quiet", "up", "-d"]) == 1
    err = capsys.readouterr().err
    assert "container demo-db-1 is unhealthy" in err and "Traceback" not in err


def test_flag_conflicts_and_dry_run(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "-d", "--abort-on-container-exit"]) == 1
    assert "cannot be combined" in capsys.readouterr().err
    assert main(["up", "--force-recreate", "--no-recreate"]) == 1
    assert main(["up", "--always-recreate-deps", "--no-recreate"]) == 1
    assert "--always-recreate-deps and --no-recreate are incompatible" in capsys.readouterr().err
    assert main(["--dry-run", "up", "-d", "--scale", "web=2"]) == 0
    err = capsys.readouterr().err
    assert "DRY-RUN MODE - create web #2" in err
    assert engine.containers == {}
    assert main(["up", "-d", "--scale", "nope=2"]) == 1
    assert "no such service: nope" in capsys.readouterr().err


def test_down_without_compose_file_uses_labels(engine: FakeEngine, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--progress", "quiet", "up", "-d"]) == 0
    (tmp_path / "compose.yaml").unlink()
    assert main(["-p", "demo", "--progress", "plain", "down"]) == 0
    err = capsys.readouterr().err
    assert err.index("demo-web-1 Stopped") < err.index("demo-db-1 Stopped")
    assert engine.containers == {} and engine.networks == {}


def test_image_policy_decisions() -> None:
    plain = Service(name="a", image="x")
    assert decide(plain, exists=False, policy=ImagePolicy()) == "pull"
    assert decide(plain, exists=True, policy=ImagePolicy()) == ""
    assert decide(plain, exists=True, policy=ImagePolicy(pull="always")) == "pull"
    assert decide(Service(name="a", image="x", pull_policy="never"), exists=False, policy=ImagePolicy()) == ""
    from compose.model import Build

    built = Service(name="b", build=Build(context="/ctx"))
    assert decide(built, exists=False, policy=ImagePolicy()) == "build"
    assert decide(built, exists=True, policy=ImagePolicy()) == ""
    assert decide(built, exists=True, policy=ImagePolicy(build=True)) == "build"
    assert decide(built, exists=False, policy=ImagePolicy(no_build=True)) == ""


def test_status_words() -> None:
    base = dict(id="0" * 64, name="n", image="i", image_id="x", labels={}, created="2024-01-01T00:00:00Z")
    from datetime import UTC, datetime, timedelta

    now = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    started = (now - timedelta(seconds=42)).isoformat()
    running = ContainerState(**base, status="running", started_at=started, health="healthy")  # type: ignore[arg-type]
    assert status_text(running, now) == "Up 42 seconds (healthy)"
    exited = ContainerState(**base, status="exited", exit_code=3, finished_at=started)  # type: ignore[arg-type]
    assert status_text(exited, now) == "Exited (3) 42 seconds ago"
    assert human_duration(0.2) == "Less than a second" and human_duration(90) == "About a minute"
    assert human_duration(3 * 3600) == "3 hours"


def test_command_shows_what_runs_with_the_images_parts() -> None:
    from compose.summary import command_text, summary
    from runtime.api import ContainerSpec, ImageConfig

    image = ImageConfig(entrypoint=["docker-entrypoint.sh"], cmd=["redis-server", "--save", ""])
    base = dict(id="0" * 64, name="n", image="i", image_id="x", labels={}, created="2024-01-01T00:00:00Z",
                status="running")

    def text(spec: ContainerSpec, img: ImageConfig | None = image) -> str:
        return command_text(ContainerState(**base, spec=spec), img)  # type: ignore[arg-type]

    assert text(ContainerSpec(name="n", image="i")) == '"docker-entrypoint.sh redis-server --save \'\'"'
    assert text(ContainerSpec(name="n", image="i", command=["sh"])) == '"docker-entrypoint.sh sh"'
    assert text(ContainerSpec(name="n", image="i", entrypoint=["sleep"], command=["5"])) == '"sleep 5"'
    assert text(ContainerSpec(name="n", image="i", entrypoint=["env"])) == '"env"'  # entrypoint drops CMD
    assert text(ContainerSpec(name="n", image="i"), None) == '""'  # image gone: only the spec's part
    state = ContainerState(**base, spec=ContainerSpec(name="n", image="i"))  # type: ignore[arg-type]
    assert summary(state, image=image)["Command"] == "docker-entrypoint.sh redis-server --save ''"


def test_only_the_invoked_command_is_built() -> None:
    import sys

    from compose.cli.main import build_parser, invoked_command

    assert invoked_command(["-p", "up", "--progress", "plain", "ps", "-a"]) == "ps"
    assert invoked_command(["--dry-run", "up"]) == "up"
    assert invoked_command(["-f", "x.yaml"]) is None
    sys.modules.pop("compose.cli.commands.logs", None)
    args = build_parser(only="ps").parse_args(["ps", "-a"])
    assert args.all and "compose.cli.commands.logs" not in sys.modules


def test_ls_events_and_images(engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    from compose.cli.commands.events import diff

    assert main(["--progress", "quiet", "up", "-d"]) == 0
    capsys.readouterr()
    assert main(["ls", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["Name"] == "demo" and row["Status"] == "running(2)" and row["ConfigFiles"].endswith("compose.yaml")
    assert main(["images", "-q"]) == 0
    assert len(capsys.readouterr().out.split()) == 1  # both containers use one image
    before = {c.id: c for c in engine.containers.values()}
    engine.container_stop("demo-web-1")
    after = {c.id: c for c in engine.containers.values()}
    assert [(a, c.name) for a, c in diff(before, after)] == [("die", "demo-web-1")]
    engine.container_remove("demo-web-1")
    gone = {c.id: c for c in engine.containers.values()}
    assert [a for a, _ in diff(after, gone)] == ["destroy"]


def test_project_lock_is_exclusive(tmp_path: Path) -> None:
    import threading

    from compose.errors import OperationError
    from compose.lock import project_lock

    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with project_lock(tmp_path, "p"):
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    try:
        with pytest.raises(OperationError, match="locked by another hoist command"):
            with project_lock(tmp_path, "p", timeout=0.2):
                pass
        with project_lock(tmp_path, "other", timeout=0.2):
            pass  # another project is not blocked
    finally:
        release.set()
        t.join()
    with project_lock(tmp_path, "p", timeout=1):
        pass


def test_events_since_replays_the_records_and_until_in_the_past_ends_the_stream(
        engine: FakeEngine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--progress", "quiet", "up", "-d"]) == 0
    engine.container_stop("demo-web-1")
    capsys.readouterr()
    assert main(["events", "--json", "--since", "1h", "--until", "0s"]) == 0  # returns: --until is now
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    web = [e["action"] for e in events if e["attributes"]["name"] == "demo-web-1"]
    assert web == ["create", "start", "die"]
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    die = next(e for e in events if e["action"] == "die")
    assert die["attributes"]["exitCode"] and die["service"] == "web"
    assert main(["events", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z"]) == 0
    assert capsys.readouterr().out == ""  # nothing recorded in that window
    assert main(["events", "--since", "yesterday"]) != 0
    assert "invalid time 'yesterday'" in capsys.readouterr().err


def test_recorded_events_keep_to_their_window() -> None:
    from compose.cli.commands.events import recorded
    from runtime.api import HealthLogEntry

    c = ContainerState(id="a" * 64, name="p-web-1", image="busybox", image_id="sha256:x", labels={},
                       status="exited", created="2026-01-01T00:00:00.000000000Z",
                       started_at="2026-01-01T00:00:05.000000000Z", finished_at="2026-01-01T00:01:00.000000000Z",
                       health="healthy", health_log=[HealthLogEntry(start="2026-01-01T00:00:30.000000000Z",
                                                                    end="2026-01-01T00:00:30.500000000Z",
                                                                    exit_code=0, output="")])
    events = recorded([c], "2026-01-01T00:00:01.000000000Z", "2026-01-01T00:00:59.000000000Z")
    assert [a for _, a, _ in events] == ["start", "health_status: healthy"]
    assert [a for _, a, _ in recorded([c], "2025-01-01T00:00:00.000000000Z", None)] == \
        ["create", "start", "health_status: healthy", "die"]
