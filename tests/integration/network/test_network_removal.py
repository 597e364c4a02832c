"""Removing a network: its firewall update and the bridge's deletion run at once, and a failed deletion
leaves the network whole (row, bridge and rules), so it can be used or removed again."""

from __future__ import annotations

import subprocess

import pytest

from runtime.errors import NetworkError
from runtime.network import bridge
from tests.integration.network.conftest import Harness


def _rules(tag: str) -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if f"hoist:{tag}" in line]


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def test_removal_takes_bridge_and_rules_and_keeps_the_other_networks(harness: Harness, subnet_factory) -> None:
    m = harness.manager
    harness.network("keep", subnet_factory())
    harness.network("drop", subnet_factory())
    keep, drop = m.store.find_network("keep"), m.store.find_network("drop")
    m.remove_network("drop")
    assert not _link_exists(drop.bridge) and _link_exists(keep.bridge)
    rules = _rules(m.tag)
    assert not any(drop.id[:12] in line for line in rules)
    assert any(keep.id[:12] in line for line in rules)
    m.remove_network("keep")  # the root's last: the base chains go too
    assert not _link_exists(keep.bridge) and _rules(m.tag) == []


def test_a_failed_bridge_deletion_leaves_the_network_whole(harness: Harness, subnet,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    m = harness.manager
    harness.network("stay", subnet)
    n = m.store.find_network("stay")
    before = sorted(_rules(m.tag))

    def refuse(name: str) -> None:
        raise NetworkError(f"cannot delete link {name}: Device or resource busy")

    monkeypatch.setattr(bridge, "delete_link_by_name", refuse)
    with pytest.raises(NetworkError, match="Device or resource busy"):
        m.remove_network("stay")
    assert m.store.find_network("stay") is not None and _link_exists(n.bridge)
    assert sorted(_rules(m.tag)) == before  # the base chains and the network's rules are back
    monkeypatch.undo()
    m.remove_network("stay")
    assert not _link_exists(n.bridge) and _rules(m.tag) == []
