"""prepare_container for the modes that make no kernel objects: none, host, container:<id>."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.api import ContainerSpec
from runtime.errors import InvalidSpec, NotFound
from runtime.network.manager import NetworkManager


def test_none_mode_writes_files_without_a_netns(tmp_path: Path) -> None:
    m = NetworkManager(tmp_path)
    net = m.prepare_container("c" * 64, ContainerSpec(name="x", image="i", network_mode="none", hostname="box",
                                                      dns=["10.9.9.9"], extra_hosts=[("db", "10.1.1.1")]))
    assert net.netns_path is None and net.endpoints == [] and net.ports == []
    assert net.etc_files["/etc/hostname"].read_text() == "box\n"
    assert "10.1.1.1\tdb" in net.etc_files["/etc/hosts"].read_text()
    assert "127.0.0.1\tbox" in net.etc_files["/etc/hosts"].read_text()
    assert net.etc_files["/etc/resolv.conf"].read_text() == "nameserver 10.9.9.9\n"


def test_host_mode_copies_the_hosts_files(tmp_path: Path) -> None:
    m = NetworkManager(tmp_path)
    net = m.prepare_container("d" * 64, ContainerSpec(name="x", image="i", network_mode="host",
                                                      extra_hosts=[("extra", "10.2.2.2")]))
    assert net.netns_path is None
    hosts = net.etc_files["/etc/hosts"].read_text()
    assert hosts.startswith(Path("/etc/hosts").read_text()) and hosts.endswith("10.2.2.2\textra\n")
    assert net.etc_files["/etc/resolv.conf"].read_text() == Path("/etc/resolv.conf").read_text()


def test_container_mode_shares_the_targets_netns_and_files(tmp_path: Path) -> None:
    m = NetworkManager(tmp_path)
    with m.db.transaction() as c:
        c.execute("INSERT INTO net_containers VALUES (?,?,?,?,?,?,?)",
                  ("e" * 64, "target", "t", "bridge", "/run/x/netns/eee", json.dumps([]), json.dumps([])))
    for ref in ("e" * 64, "target"):
        net = m.prepare_container("f" * 64, ContainerSpec(name="y", image="i", network_mode=f"container:{ref}"))
        assert net.netns_path == "/run/x/netns/eee"
        assert net.etc_files["/etc/hosts"] == tmp_path / "containers" / ("e" * 64) / "hosts"
    with pytest.raises(NotFound, match="no network namespace"):
        m.prepare_container("f" * 64, ContainerSpec(name="y", image="i", network_mode="container:ghost"))
    with pytest.raises(InvalidSpec, match="unknown network mode"):
        m.prepare_container("f" * 64, ContainerSpec(name="y", image="i", network_mode="weird"))


def test_ipv6_networks_are_refused_clearly(tmp_path: Path) -> None:
    from runtime.api import NetworkSpec

    with pytest.raises(InvalidSpec, match="IPv6 is not supported"):
        NetworkManager(tmp_path).create_network(NetworkSpec(name="v6", enable_ipv6=True))


def test_check_host_ports_reports_taken_ports(tmp_path: Path) -> None:
    import socket

    from runtime.api import PortBinding
    from runtime.errors import Conflict

    m = NetworkManager(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(Conflict):
            m.check_host_ports([PortBinding(80, "tcp", "127.0.0.1", s.getsockname()[1])])
    assert m.check_host_ports([PortBinding(80)])[0].host_port > 0
