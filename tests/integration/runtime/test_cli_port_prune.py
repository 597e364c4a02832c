"""`hoist container port` as `docker port` prints it, and `hoist system prune` keeping the `bridge` network."""

from __future__ import annotations

import re

from tests.integration.runtime.test_cli_container import hoist


def test_container_port_lists_all_mappings_or_one_private_port(hoist_root, busybox_image, unique_id, subnet):
    net, name = f"pn{unique_id}", f"pc{unique_id}"
    assert hoist(hoist_root, "network", "create", "--subnet", str(subnet), net).returncode == 0
    try:
        r = hoist(hoist_root, "container", "create", "--name", name, "--network", net, "-p", "127.0.0.1::80",
                  "-p", "5353/udp", busybox_image, "sleep", "1000")
        assert r.returncode == 0, r.stderr
        lines = hoist(hoist_root, "container", "port", name).stdout.splitlines()
        assert len(lines) == 2
        assert re.fullmatch(r"80/tcp -> 127\.0\.0\.1:\d+", lines[0]), lines
        assert re.fullmatch(r"5353/udp -> 0\.0\.0\.0:\d+", lines[1]), lines  # -p PORT: a random host port
        tcp_port, udp_port = (line.rsplit(":", 1)[1] for line in lines)
        assert hoist(hoist_root, "container", "port", name, "80").stdout == f"127.0.0.1:{tcp_port}\n"
        assert hoist(hoist_root, "container", "port", name, "80/tcp").stdout == f"127.0.0.1:{tcp_port}\n"
        assert hoist(hoist_root, "container", "port", name, "5353/udp").stdout == f"0.0.0.0:{udp_port}\n"
        missing = hoist(hoist_root, "container", "port", name, "5353")  # tcp: not published
        assert missing.returncode != 0 and "no public port '5353/tcp'" in missing.stderr
        assert "Traceback" not in missing.stderr
        bad = hoist(hoist_root, "container", "port", name, "http")
        assert bad.returncode != 0 and "invalid port" in bad.stderr
    finally:
        hoist(hoist_root, "container", "rm", "-f", name)
        hoist(hoist_root, "network", "rm", net)


def test_system_prune_keeps_the_default_bridge_network(hoist_root, unique_id, subnet_factory):
    spare = f"spare{unique_id}"
    assert hoist(hoist_root, "network", "create", "--subnet", str(subnet_factory()), "bridge").returncode == 0
    assert hoist(hoist_root, "network", "create", "--subnet", str(subnet_factory()), spare).returncode == 0
    try:
        pruned = hoist(hoist_root, "system", "prune", "-f")
        assert pruned.returncode == 0, pruned.stderr
        assert f"Deleted Network: {spare}" in pruned.stdout and "Deleted Network: bridge" not in pruned.stdout
        assert hoist(hoist_root, "network", "ls", "--format", "json").stdout.count('"Name": "bridge"') == 1
        assert hoist(hoist_root, "network", "prune", "-f").returncode == 0
        assert hoist(hoist_root, "network", "inspect", "bridge").returncode == 0
    finally:
        hoist(hoist_root, "network", "rm", spare)
        hoist(hoist_root, "network", "rm", "bridge")
