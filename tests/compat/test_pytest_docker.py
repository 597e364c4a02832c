"""A real compose client drives hoist: pytest-docker, its compose command pointed at hoist, brings a
service up (`up --build --wait`), reads its port (`port`, last line, after the colon) and tears it down
(`down -v`)."""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.cli import PROJECT_DIR

pytestmark = pytest.mark.root


def test_pytest_docker_drives_hoist(hoist_root: Path, busybox_image: str, project_name: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("runtime.network.manager", reason="bridge networking is not in this build yet")
    from pytest_docker.plugin import get_docker_services

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("served by hoist\n")
    compose_file = tmp_path / "compose.yaml"
    compose_file.write_text(f"""
services:
  web:
    image: {busybox_image}
    command: ["busybox", "httpd", "-f", "-p", "80", "-h", "/www"]
    init: true
    ports: ["80"]
    volumes: ["./www:/www:ro"]
""")
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_DIR))
    command = f"{sys.executable} -m compose.cli.main"
    with get_docker_services(command, str(compose_file), project_name, "up --build --wait", "down -v") as services:
        port = services.port_for("web", 80)
        assert port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as reply:
            assert reply.read() == b"served by hoist\n"
    from runtime.engine import open_engine

    assert open_engine(hoist_root).container_list() == []
