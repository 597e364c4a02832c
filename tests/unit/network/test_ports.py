from __future__ import annotations

import socket

import pytest

from runtime.api import PortBinding
from runtime.errors import Conflict, InvalidSpec
from runtime.network.ports import format_port_mappings, format_ps_ports, resolve_host_ports
from runtime.network.store import PortRow


def test_format_port_mappings_like_docker_port() -> None:
    ports = [PortBinding(80, "tcp", "", 8080), PortBinding(53, "udp", "127.0.0.1", 5353),
             PortBinding(80, "tcp", "::", 8080)]
    assert format_port_mappings(ports) == ["53/udp -> 127.0.0.1:5353", "80/tcp -> 0.0.0.0:8080",
                                           "80/tcp -> [::]:8080"]
    assert format_port_mappings(ports, 80) == ["0.0.0.0:8080", "[::]:8080"]
    assert format_port_mappings(ports, 53, "udp") == ["127.0.0.1:5353"]
    assert format_port_mappings(ports, 53) == []


def test_format_ps_ports_lists_unpublished_exposed() -> None:
    text = format_ps_ports([PortBinding(80, "tcp", "", 8080)], ["80/tcp", "443"])
    assert text == "0.0.0.0:8080->80/tcp, 443/tcp"


def test_random_ports_resolved_and_distinct() -> None:
    got = resolve_host_ports([PortBinding(80), PortBinding(81), PortBinding(53, "udp")], [])
    assert all(b.host_port > 0 for b in got)
    assert len({(b.protocol, b.host_port) for b in got}) == 3


def test_port_bound_by_a_process_conflicts() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(Conflict, match=f"127.0.0.1:{port} failed: port is already allocated"):
            resolve_host_ports([PortBinding(80, "tcp", "127.0.0.1", port)], [])


def test_port_published_by_another_container_conflicts_but_not_own() -> None:
    with socket.socket() as s:  # a free port, released
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    taken = [PortRow("other", "tcp", "", port, 80, "10.0.0.2")]
    with pytest.raises(Conflict):
        resolve_host_ports([PortBinding(80, "tcp", "127.0.0.1", port)], taken)
    assert resolve_host_ports([PortBinding(80, "udp", "", port)], taken)[0].host_port == port
    mine = [PortRow("me", "tcp", "", port, 80, "10.0.0.2")]
    assert resolve_host_ports([PortBinding(80, "tcp", "", port)], mine, owner="me")[0].host_port == port


def test_same_port_twice_in_one_spec_conflicts() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(Conflict):
        resolve_host_ports([PortBinding(80, "tcp", "", port), PortBinding(81, "tcp", "", port)], [])


def test_sctp_refused() -> None:
    with pytest.raises(InvalidSpec, match="sctp"):
        resolve_host_ports([PortBinding(80, "sctp")], [])
