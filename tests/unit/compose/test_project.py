"""The whole pipeline on small projects written to a temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compose.errors import ComposeError, ConfigError, CycleError
from compose.project import LoadOptions, load_document, load_project


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return tmp_path


def _load(tmp_path: Path, *files: str, **kw: Any) -> Any:
    kw.setdefault("environ", {})
    return load_document(LoadOptions(files=[str(tmp_path / f) for f in files] if files else [],
                                     cwd=str(tmp_path), use_cache=False, **kw))


def test_override_file_merges_by_compose_rules(tmp_path: Path) -> None:
    _project(tmp_path, {
        "compose.yaml": "services:\n  web:\n    image: a\n    command: run a\n    ports: ['80:80', '81:81']\n"
                        "    environment: [A=1, B=2]\n",
        "compose.override.yaml": "services:\n  web:\n    command: [run, b]\n    ports: ['8080:80', '80:80/udp']\n"
                                 "    environment: {B: '3'}\n",
    })
    web = _load(tmp_path).document["services"]["web"]
    assert web["command"] == ["run", "b"]
    assert web["environment"] == {"A": "1", "B": "3"}
    assert [(p["published"], p["target"], p["protocol"]) for p in web["ports"]] == [
        ("80", 80, "tcp"), ("81", 81, "tcp"), ("8080", 80, "tcp"), ("80", 80, "udp")]


def test_reset_and_override_in_override_file(tmp_path: Path) -> None:
    _project(tmp_path, {
        "a.yaml": "services:\n  web:\n    image: a\n    ports: ['80:80']\n    command: x\n",
        "b.yaml": "services:\n  web:\n    ports: !override ['90:90']\n    command: !reset null\n",
    })
    web = _load(tmp_path, "a.yaml", "b.yaml").document["services"]["web"]
    assert [p["published"] for p in web["ports"]] == ["90"]
    assert "command" not in web


def test_project_name_rules(tmp_path: Path) -> None:
    _project(tmp_path / "My Dir", {"compose.yaml": "services:\n  a:\n    image: x\n"})
    assert _load(tmp_path / "My Dir").name == "mydir"
    _project(tmp_path / "n", {"compose.yaml": "name: test-${T}-x\nservices:\n  a:\n    image: ${COMPOSE_PROJECT_NAME}\n"})
    loaded = _load(tmp_path / "n", environ={"T": "v"})
    assert loaded.name == "test-v-x"
    assert loaded.document["services"]["a"]["image"] == "test-v-x"
    assert _load(tmp_path / "n", environ={"T": "v"}, project_name="explicit").name == "explicit"


def test_variables_from_dotenv_and_shell(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "services:\n  a:\n    image: ${IMG}:${TAG}\n", ".env": "IMG=x\nTAG=1\n"})
    assert _load(tmp_path, environ={"TAG": "2"}).document["services"]["a"]["image"] == "x:2"


def test_env_file_and_environment_precedence(tmp_path: Path) -> None:
    _project(tmp_path, {
        "compose.yaml": "services:\n  a:\n    image: x\n    env_file: [one.env, {path: missing.env, required: false}]\n"
                        "    environment:\n      B: explicit\n      C:\n",
        "one.env": "A=1\nB=1\nC=1\n",
    })
    env = _load(tmp_path, environ={"C": "shell"}).document["services"]["a"]["environment"]
    assert env == {"A": "1", "B": "explicit", "C": "shell"}


def test_required_env_file_missing(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "services:\n  a:\n    image: x\n    env_file: nope.env\n"})
    with pytest.raises(ComposeError, match="nope.env"):
        _load(tmp_path)


def test_extends_other_file_paths_relative_to_it(tmp_path: Path) -> None:
    _project(tmp_path, {
        "compose.yaml": "services:\n  web:\n    extends: {file: base/common.yaml, service: app}\n"
                        "    environment: {B: '2'}\n",
        "base/common.yaml": "services:\n  app:\n    image: x\n    build: ./ctx\n    environment: {A: '1'}\n",
    })
    web = _load(tmp_path).document["services"]["web"]
    assert web["build"]["context"] == str(tmp_path / "base" / "ctx")
    assert web["environment"] == {"A": "1", "B": "2"}


def test_extends_chain_and_cycle(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "services:\n  a:\n    image: x\n    labels: [l=a]\n"
                                        "  b:\n    extends: a\n  c:\n    extends: b\n    labels: [m=c]\n"})
    assert _load(tmp_path).document["services"]["c"]["labels"] == {"l": "a", "m": "c"}
    _project(tmp_path, {"compose.yaml": "services:\n  a:\n    extends: b\n  b:\n    extends: a\n"})
    with pytest.raises(CycleError):
        _load(tmp_path)


def test_extends_missing_service_key(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "services:\n  test:\n    image: x\n    extends: {file: o.yaml}\n"})
    with pytest.raises(ConfigError, match="extends.test.service is required"):
        _load(tmp_path)


def test_include_with_own_directory_and_env(tmp_path: Path) -> None:
    _project(tmp_path, {
        "compose.yaml": "include:\n  - path: sub/compose.yaml\n    env_file: sub/vars.env\n"
                        "services:\n  web:\n    image: web\n    depends_on: [db]\n",
        "sub/compose.yaml": "services:\n  db:\n    image: ${DB_IMAGE}\n    volumes: ['./data:/data']\n",
        "sub/vars.env": "DB_IMAGE=postgres\n",
    })
    db = _load(tmp_path).document["services"]["db"]
    assert db["image"] == "postgres"
    assert db["volumes"][0]["source"] == str(tmp_path / "sub" / "data")


def test_include_cycle(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "include: [other.yaml]\nservices:\n  a:\n    image: x\n",
                        "other.yaml": "include: [compose.yaml]\nservices:\n  b:\n    image: x\n"})
    with pytest.raises(CycleError, match="include cycle detected"):
        _load(tmp_path)


def test_profiles(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "services:\n  a:\n    image: x\n  dbg:\n    image: x\n    profiles: [debug]\n"
                                        "  tool:\n    image: x\n    profiles: [tools]\n    depends_on: [a]\n"})
    assert list(_load(tmp_path).document["services"]) == ["a"]
    assert list(_load(tmp_path, profiles=["debug"]).document["services"]) == ["a", "dbg"]
    assert list(_load(tmp_path, profiles=["*"]).document["services"]) == ["a", "dbg", "tool"]
    # A service named on the command line is enabled whatever its profiles.
    assert list(_load(tmp_path, services=["tool"]).document["services"]) == ["a", "tool"]


def test_dependency_on_disabled_service(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "services:\n  a:\n    image: x\n    depends_on: [db]\n"
                                        "  db:\n    image: x\n    profiles: [db]\n"})
    with pytest.raises(ConfigError, match=r"service db is required by a but is disabled.*\[db\]"):
        _load(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": ""})
    with pytest.raises(ConfigError, match="empty compose file"):
        _load(tmp_path)


def test_obsolete_version_warns(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": "version: '3'\nservices:\n  a:\n    image: x\n"})
    loaded = _load(tmp_path)
    assert any("obsolete" in w for w in loaded.warnings)
    assert "version" not in loaded.document


def test_stdin(tmp_path: Path) -> None:
    loaded = load_document(LoadOptions(files=["-"], stdin="services:\n  a:\n    image: x\n", cwd=str(tmp_path),
                                       environ={}, use_cache=False))
    assert loaded.name == tmp_path.name.lower().replace(".", "") or loaded.name
    assert loaded.document["services"]["a"]["image"] == "x"


def test_typed_model(tmp_path: Path) -> None:
    _project(tmp_path, {"compose.yaml": (
        "services:\n  web:\n    image: nginx\n    ports: ['8080-8081:80']\n    depends_on:\n      db: {condition: service_healthy}\n"
        "    healthcheck: {test: curl -f http://x, interval: 1m30s}\n    shm_size: 64m\n    volumes: [data:/d]\n"
        "    deploy: {replicas: 2}\n  db:\n    image: pg\nvolumes:\n  data: {}\n")})
    project = load_project(LoadOptions(cwd=str(tmp_path), environ={}, use_cache=False, project_name="p"))
    web = project.services["web"]
    assert web.ports[0].target == 80 and web.ports[0].published == "8080-8081"
    assert web.depends_on["db"].condition == "service_healthy"
    assert web.healthcheck.test == ["CMD-SHELL", "curl -f http://x"] and web.healthcheck.interval == 90.0
    assert web.shm_size == 64 * 1024 * 1024
    assert web.volumes[0].type == "volume" and web.volumes[0].source == "data"
    assert web.replicas == 2
    assert project.networks["default"].name == "p_default"
    assert project.volumes["data"].name == "p_data"
    assert web.networks == {"default": None}
    assert len(project.service_hash("web")) == 64
