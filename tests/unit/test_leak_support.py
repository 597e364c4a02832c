"""The test support code itself: subnets are free and distinct, names are unique."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from runtime import naming


def test_subnets_are_private_and_distinct(subnet_factory) -> None:  # type: ignore[no-untyped-def]
    nets = [subnet_factory() for _ in range(5)]
    assert len(set(nets)) == 5
    for net in nets:
        assert net.subnet_of(ipaddress.ip_network("10.0.0.0/8"))
        assert net.prefixlen == 24


def test_project_names_are_unique(project_name: str) -> None:
    assert project_name.startswith("t") and len(project_name) == 9


def test_hoist_root_is_exported(hoist_root: Path) -> None:
    import os

    assert os.environ["HOIST_ROOT"] == str(hoist_root)
    assert naming.resolve_root() == hoist_root
    assert naming.run_dir(hoist_root).name.startswith("hoist-")


def test_kernel_object_names_fit_ifnamsiz() -> None:
    root = Path("/some/long/root/path/that/does/not/matter")
    assert len(naming.bridge_name(root, "a" * 64)) <= 15
    assert len(naming.veth_host_name(root, "b" * 64)) <= 15
    assert naming.bridge_name(root, "a" * 64).startswith(naming.link_prefix(root))
