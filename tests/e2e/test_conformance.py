"""The eight scenarios of compose-spec's conformance suite (../shared/corpus/conformance-tests), each run
as upstream runs it: `up -d`, an HTTP (or UDP) check against 127.0.0.1:8080, `down`, nothing left.

The helper images are built by the test from local parts (tests/support/echo_image.py). The scenarios
publish fixed host ports (8080, 10001), so they take a machine-wide lock to run one at a time.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Hoist, wait_for

SCENARIOS = ["simple_lifecycle", "simple_network", "different_networks", "simple_volume", "simple_secretfile",
             "simple_configfile", "udp_port", "scaling"]


@pytest.fixture
def port_lock() -> Iterator[None]:
    with open("/tmp/hoist-test-port-8080.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def http(path: str) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:8080{path}", timeout=3) as reply:
            return reply.read().decode()
    except OSError:
        return None


def udp(message: bytes) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(message, ("127.0.0.1", 10001))
            return s.recv(2048)
        except OSError:
            return None


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario(scenario: str, hoist_root: Path, debian_image: str, project_name: str,
                              tmp_path: Path, shared_dir: Path, port_lock: None) -> None:
    pytest.importorskip("runtime.network.manager", reason="bridge networking is not in this build yet")
    from tests.support.echo_image import build_echo_images

    build_echo_images(hoist_root, debian_image)
    workdir = tmp_path / scenario
    shutil.copytree(shared_dir / "corpus" / "conformance-tests" / scenario, workdir)
    h = Hoist(hoist_root, workdir, project_name)
    try:
        h("up", "-d")
        if scenario == "simple_lifecycle":
            assert h.states() == {f"{project_name}-test1-1": "running"}
        elif scenario == "simple_network":
            # "Could not reach" is an answer too, given while target's server is still starting: wait for PONG.
            assert wait_for(lambda: http("/ping?address=target:8080/ping") == "PONG FROM TARGET",
                            what="PONG FROM TARGET through the client")
            assert http("/ping?address=notatarget:8080/ping") == "Could not reach address: notatarget:8080/ping"
        elif scenario == "different_networks":
            assert wait_for(lambda: http("/ping") == "PONG FROM TARGET", what="PONG FROM TARGET")
            assert http("/ping?address=target:8080/ping") == "Could not reach address: target:8080/ping"
        elif scenario == "simple_volume":
            assert wait_for(lambda: http("/volumefile?filename=test_volume.txt")) == "MYVOLUME"
        elif scenario == "simple_secretfile":
            assert wait_for(lambda: http("/volumefile?filename=test_secret.txt")) == "MYSECRET"
        elif scenario == "simple_configfile":
            assert wait_for(lambda: http("/volumefile?filename=test_config.txt")) == "MYCONFIG"
        elif scenario == "udp_port":
            assert wait_for(lambda: udp(b"hello over udp")) == b"hello over udp"
            assert http("/udp") == "hello over udp"
        elif scenario == "scaling":
            assert wait_for(lambda: http("/scalechecker") == "3", timeout=30, what="3 registered clients")
    finally:
        h("down", "-t", "2", check=False)
    assert h.ps() == []
