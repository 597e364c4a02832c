"""`hoist config` end to end through the CLI entry point (no root, no kernel objects)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compose.cli.main import main

COMPOSE = """\
name: demo
services:
  web:
    image: nginx:${TAG:-1.25}
    ports: ["8080:80"]
    depends_on: [db]
    volumes: [data:/data]
    networks: [front]
  db:
    image: postgres
    environment:
      PASSWORD: ${PASSWORD?set it}
  tool:
    image: busybox
    profiles: [tools]
volumes:
  data: {}
networks:
  front: {}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PASSWORD", "pw")
    monkeypatch.delenv("TAG", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_yaml_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config")
    assert code == 0
    assert out.startswith("name: demo\nservices:\n  db:\n")
    assert "    image: nginx:1.25\n" in out
    assert '        published: "8080"\n' in out
    assert "tool" not in out


def test_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "config", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["services"]["web"]["depends_on"]["db"]["condition"] == "service_started"


@pytest.mark.parametrize("flag,expected", [
    ("--services", "db\nweb\n"), ("--volumes", "data\n"), ("--networks", "default\nfront\n"),
    ("--profiles", "tools\n"), ("--images", "postgres\nnginx:1.25\n"),
])
def test_listing_flags(project: Path, capsys: pytest.CaptureFixture[str], flag: str, expected: str) -> None:
    assert run(capsys, "config", flag)[1] == expected


def test_profile_flag_and_convert_alias(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--profile", "tools", "convert", "--services")[1] == "db\ntool\nweb\n"


def test_quiet_output_file_and_hash(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "config", "-q") == (0, "", "")
    assert run(capsys, "config", "-o", "out.yaml")[1] == ""
    assert (project / "out.yaml").read_text().startswith("name: demo\n")
    code, out, _ = run(capsys, "config", "--hash", "*")
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == ["db", "web"]
    assert all(len(line.split()[1]) == 64 for line in lines)
    # The hash changes with the service's config and not with an unrelated service.
    (project / "compose.yaml").write_text(COMPOSE.replace("postgres", "postgres:16"))
    lines2 = run(capsys, "config", "--hash", "db,web")[1].splitlines()
    assert lines2[0] != lines[0] and lines2[1] == lines[1]


def test_no_interpolate_keeps_variables(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "config", "--no-interpolate")[1]
    assert "image: nginx:${TAG:-1.25}" in out


def test_no_normalize(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "config", "--no-normalize")[1]
    assert "default: null" not in out and "name: demo_data" not in out


def test_variables(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "config", "--variables")[1]
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "REQUIRED", "DEFAULT", "VALUE", "ALTERNATE", "VALUE"]
    assert lines[1].split() == ["PASSWORD", "true"]
    assert lines[2].split() == ["TAG", "false", "1.25"]


def test_environment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "config", "--environment")[1]
    assert "PASSWORD=pw\n" in out and "COMPOSE_PROJECT_NAME=demo\n" in out


def test_missing_required_variable_is_a_clean_error(project: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PASSWORD")
    code, out, err = run(capsys, "config")
    assert code == 1 and out == ""
    assert "compose.yaml:12:" in err and "required variable PASSWORD is missing a value: set it" in err
    assert "Traceback" not in err


def test_unknown_service(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "nope")
    assert code == 1 and "no such service: nope" in err


def test_stdin(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("services:\n  x:\n    image: y\n"))
    assert run(capsys, "-f", "-", "-p", "s", "config", "--services")[1] == "x\n"
