"""Semantic checks on whole projects: undefined references, cycles, conflicts, warnings (golden messages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ConfigError, ConflictError, CycleError, ReferenceError_
from compose.semantic import VERSION_WARNING, check_references
from compose.yamlfile import load_yaml

TESTDATA = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "compose-go" / "loader" / "testdata"


def _check(text: str) -> list[str]:
    document, sources = load_yaml(text, "compose.yaml")
    return check_references(document, sources)


def _fails(text: str, kind: type[ConfigError]) -> ConfigError:
    with pytest.raises(kind) as caught:
        _check(text)
    return caught.value


# (kind, yaml, error class, "file:line:col", message, hint)
GOLDEN = [
    ("depends_on_undefined",
     "services:\n  web:\n    image: a\n    depends_on: [db]\n", ReferenceError_, "compose.yaml:4:18",
     "service `web` depends on undefined service `db`", "defined services: `web`"),
    ("depends_on_long_typo",
     "services:\n  web:\n    image: a\n    depends_on:\n      dbb:\n        condition: service_started\n"
     "  db:\n    image: b\n", ReferenceError_, "compose.yaml:5:7",
     "service `web` depends on undefined service `dbb`", "did you mean `db`?"),
    ("links_undefined",
     "services:\n  web:\n    image: a\n    links: ['cache:redis']\n", ReferenceError_, "compose.yaml:4:13",
     "service `web` links to undefined service `cache`", "defined services: `web`"),
    ("volumes_from_undefined",
     "services:\n  web:\n    image: a\n    volumes_from: ['data:ro', 'container:other']\n", ReferenceError_,
     "compose.yaml:4:20", "service `web` takes volumes from undefined service `data`", "defined services: `web`"),
    ("network_mode_service_undefined",
     "services:\n  web:\n    image: a\n    network_mode: service:vpn\n", ReferenceError_, "compose.yaml:4:5",
     "service `web` shares the network_mode of undefined service `vpn`", "defined services: `web`"),
    ("pid_service_undefined",
     "services:\n  web:\n    image: a\n    pid: service:other\n", ReferenceError_, "compose.yaml:4:5",
     "service `web` shares the pid of undefined service `other`", "defined services: `web`"),
    ("ipc_service_undefined",
     "services:\n  web:\n    image: a\n    ipc: 'service:wbe'\n", ReferenceError_, "compose.yaml:4:5",
     "service `web` shares the ipc of undefined service `wbe`", "did you mean `web`?"),
    ("network_undefined",
     "services:\n  web:\n    image: a\n    networks: [front]\nnetworks:\n  back: {}\n", ReferenceError_,
     "compose.yaml:4:16", "service `web` refers to undefined network `front`",
     "define it under the top-level `networks:` key"),
    ("network_typo_long",
     "services:\n  web:\n    image: a\n    networks:\n      fornt:\n        aliases: [w]\nnetworks:\n  front:\n",
     ReferenceError_, "compose.yaml:5:7", "service `web` refers to undefined network `fornt`",
     "did you mean `front`?"),
    ("volume_undefined_short",
     "services:\n  web:\n    image: a\n    volumes: ['data:/var/lib/data', './src:/src']\n", ReferenceError_,
     "compose.yaml:4:15", "service `web` mounts undefined volume `data`", "define it under the top-level `volumes:` key"),
    ("volume_undefined_long",
     "services:\n  web:\n    image: a\n    volumes:\n      - type: volume\n        source: dtaa\n        target: /d\n"
     "volumes:\n  data:\n", ReferenceError_, "compose.yaml:5:9", "service `web` mounts undefined volume `dtaa`",
     "did you mean `data`?"),
    ("secret_undefined",
     "services:\n  web:\n    image: a\n    secrets: [token]\n", ReferenceError_, "compose.yaml:4:15",
     "service `web` uses undefined secret `token`", "define it under the top-level `secrets:` key"),
    ("config_undefined_long",
     "services:\n  web:\n    image: a\n    configs:\n      - source: nginx_conf\n        target: /etc/nginx.conf\n"
     "configs:\n  nginx.conf:\n    file: ./nginx.conf\n", ReferenceError_, "compose.yaml:5:9",
     "service `web` uses undefined config `nginx_conf`", "did you mean `nginx.conf`?"),
    ("model_undefined",
     "services:\n  web:\n    image: a\n    models: [llm]\n", ReferenceError_, "compose.yaml:4:14",
     "service `web` uses undefined model `llm`", "define it under the top-level `models:` key"),
    ("network_mode_with_networks",
     "services:\n  web:\n    image: a\n    network_mode: host\n    networks: [default]\n", ReferenceError_,
     "compose.yaml:5:5", "service `web` sets both `network_mode` and `networks`",
     "a service joins networks only in the default (bridge) network mode: remove one of the two"),
    ("cycle_three",
     "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    links: [c]\n"
     "  c:\n    image: x\n    volumes_from: [a]\n", CycleError, "compose.yaml:10:20",
     "dependency cycle detected: a -> b -> c -> a",
     "remove one of these dependencies (depends_on, links, volumes_from, service: modes)"),
    ("cycle_self",
     "services:\n  a:\n    image: x\n    network_mode: service:a\n", CycleError, "compose.yaml:4:5",
     "dependency cycle detected: a -> a",
     "remove one of these dependencies (depends_on, links, volumes_from, service: modes)"),
    ("container_name_with_replicas",
     "services:\n  web:\n    image: a\n    container_name: web1\n    deploy:\n      replicas: 3\n", ConflictError,
     "compose.yaml:4:5",
     "service `web` has container_name `web1` and 3 replicas, but a container name must be unique",
     "remove container_name, or run a single replica"),
    ("container_name_twice",
     "services:\n  a:\n    image: x\n    container_name: box\n  b:\n    image: x\n    container_name: box\n",
     ConflictError, "compose.yaml:7:5", "services `a` and `b` both use container_name `box`",
     "give each service its own container_name"),
    ("port_twice_across_services",
     "services:\n  a:\n    image: x\n    ports: ['8080:80']\n  b:\n    image: x\n    ports: ['8080:8000']\n",
     ConflictError, "compose.yaml:7:13",
     "service `b` publishes host port 8080/tcp, which service `a` already publishes (8080/tcp)",
     "use a different host port or host address"),
    ("port_wildcard_and_specific",
     "services:\n  a:\n    image: x\n    ports:\n      - target: 80\n        published: '9000'\n        protocol: udp\n"
     "  b:\n    image: x\n    ports: ['127.0.0.1:9000:53/udp']\n", ConflictError, "compose.yaml:10:13",
     "service `b` publishes host port 127.0.0.1:9000/udp, which service `a` already publishes (9000/udp)",
     "use a different host port or host address"),
    ("port_range_overlap_same_service",
     "services:\n  a:\n    image: x\n    ports: ['8000-8002:8000-8002', '8002:9000']\n", ConflictError,
     "compose.yaml:4:36", "service `a` publishes host port 8002/tcp, which it already publishes (8002/tcp)",
     "use a different host port or host address"),
    ("port_fixed_with_scale",
     "services:\n  a:\n    image: x\n    scale: 2\n    ports: ['8080:80']\n", ConflictError, "compose.yaml:5:13",
     "service `a` publishes host port 8080/tcp with 2 replicas; only one container can bind it",
     "publish a range of host ports (e.g. `8000-8003:80`) or let the host port be chosen"),
]


@pytest.mark.parametrize("kind,text,error_class,where,message,hint", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_semantic_error(kind: str, text: str, error_class: type[ConfigError], where: str, message: str,
                               hint: str) -> None:
    error = _fails(text, error_class)
    assert error.location is not None
    assert f"{error.location.file}:{error.location.line}:{error.location.column}" == where
    assert error.message == message
    assert error.hint == hint


def test_valid_project_passes_in_long_and_short_forms() -> None:
    text = """
services:
  web:
    image: nginx
    depends_on:
      db: {condition: service_healthy, required: true}
      cache: {condition: service_started}
    links: ['cache:redis']
    networks: {front: {aliases: [w]}, default: null}
    volumes:
      - data:/data
      - ./src:/src
      - /abs:/abs
      - type: volume
        source: logs
        target: /logs
      - type: tmpfs
        target: /tmp
      - /anonymous
    secrets: [token, {source: token, target: /t}]
    configs: [{source: conf}]
    ports: ['8080:80', '127.0.0.1:8081:80', '8080:80/udp', '9000-9010:80', 5000]
  db:
    image: postgres
    volumes_from: ['container:external-one']
    ports: [{target: 5432, published: '5432', host_ip: 127.0.0.1}, {target: 5432, published: '5432', host_ip: 10.0.0.1}]
  cache:
    image: redis
    network_mode: service:db
    scale: 3
    ports: ['7000-7010:6379']
networks:
  front:
volumes:
  data:
  logs:
secrets:
  token: {file: ./t}
configs:
  conf: {content: x}
"""
    assert _check(text) == []


def test_optional_missing_dependency_is_a_warning() -> None:
    warnings = _check("services:\n  web:\n    image: a\n    depends_on:\n"
                      "      db: {condition: service_started, required: false}\n")
    assert warnings == ["service `web` depends on `db`, which is not defined or not enabled; "
                        "it is optional (required: false), so it is skipped"]


def test_obsolete_version_warns_with_file() -> None:
    assert _check("version: '3.8'\nservices:\n  web:\n    image: a\n") == [f"compose.yaml: {VERSION_WARNING}"]


@pytest.mark.parametrize("name,expected", [
    ("compose-depends-on-cycle.yaml", "dependency cycle detected: service1 -> service2 -> service3 -> service1"),
    ("compose-depends-on-self.yaml", "dependency cycle detected: service1 -> service1"),
])
def test_compose_go_cycle_files(name: str, expected: str) -> None:
    path = TESTDATA / name
    document, sources = load_yaml(path.read_text(), str(path))
    with pytest.raises(CycleError) as caught:
        check_references(document, sources)
    assert caught.value.message == expected
    assert caught.value.location is not None and caught.value.location.file == str(path)
