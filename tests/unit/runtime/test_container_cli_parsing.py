"""`hoist container run` flag parsing: sizes, durations, volumes, ports, restart policies."""

from __future__ import annotations

import argparse

import pytest

from compose.cli.commands import container
from runtime.containers.paths import secure_join
from runtime.errors import InvalidSpec


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    container.add_arguments(parser)
    return parser.parse_args(argv)


def test_run_flags_become_a_spec():
    args = _parse(["run", "--rm", "-d", "--name", "web", "-e", "A=1", "-v", "/data:/data:ro", "-v", "vol:/v",
                   "--tmpfs", "/t:size=1m,mode=700", "-m", "64m", "--cpus", "0.5", "--pids-limit", "20",
                   "--restart", "on-failure:3", "--health-cmd", "true", "--health-interval", "1m30s",
                   "-p", "127.0.0.1:8080:80/udp", "--ulimit", "nofile=100:200", "--network", "none",
                   "--cap-add", "NET_ADMIN", "--init", "-u", "app", "busybox", "sleep", "5"])
    spec = container.spec_from_args(args)
    assert spec.name == "web" and spec.command == ["sleep", "5"] and spec.env == {"A": "1"}
    bind, vol, tmpfs = spec.mounts
    assert (bind.type, bind.source, bind.target, bind.read_only) == ("bind", "/data", "/data", True)
    assert (vol.type, vol.source) == ("volume", "vol")
    assert (tmpfs.tmpfs_size, tmpfs.tmpfs_mode) == (1024 * 1024, 0o700)
    assert spec.resources.memory == 64 * 1024 * 1024 and spec.resources.cpus == 0.5
    assert (spec.restart.name, spec.restart.max_retries) == ("on-failure", 3)
    assert spec.healthcheck.interval == 90 and spec.healthcheck.test == ["CMD-SHELL", "true"]
    port = spec.ports[0]
    assert (port.host_ip, port.host_port, port.container_port, port.protocol) == ("127.0.0.1", 8080, 80, "udp")
    assert spec.ulimits[0].soft == 100 and spec.init and spec.user == "app" and spec.network_mode == "none"


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2", 2), ("1h", 3600)])
def test_durations(text, seconds):
    assert container.parse_duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["10x", "1m30", "fast"])
def test_bad_durations_and_restart_policies_are_errors(bad):
    with pytest.raises(InvalidSpec):
        container.parse_duration(bad, "x")
    with pytest.raises(InvalidSpec):
        container._restart(bad)


def test_secure_join_never_leaves_the_rootfs(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "escape").symlink_to("/../../../../root")
    (tmp_path / "rel").symlink_to("../../..")
    assert secure_join(str(tmp_path), "/etc/escape/x") == str(tmp_path / "root" / "x")
    assert secure_join(str(tmp_path), "/rel/y") == str(tmp_path / "y")
    assert secure_join(str(tmp_path), "../../z") == str(tmp_path / "z")


def test_log_times():
    from runtime.logs import rfc3339_nano

    assert container.log_time("0", "--since") == "1970-01-01T00:00:00.000000000Z"
    assert container.log_time("2026-01-02T03:04:05Z", "--since") == "2026-01-02T03:04:05Z"
    ten_minutes_ago = container.log_time("10m", "--since")
    assert ten_minutes_ago < rfc3339_nano()
    with pytest.raises(InvalidSpec):
        container.log_time("yesterday", "--since")
