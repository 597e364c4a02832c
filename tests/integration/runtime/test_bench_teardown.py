"""Benchmarks tear their roots down as tests do: nothing of the root survives, even when its state is lost."""

from __future__ import annotations

import shutil

from benchmarks._teardown import teardown_root
from runtime import naming
from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec
from runtime.engine import open_engine
from runtime.network.firewall import Chains, chain_exists
from tests.support import leaks


def _running_bridge_container(root, image: str, name: str, subnet) -> None:
    engine = open_engine(root)
    engine.network_create(NetworkSpec(name=name, ipam=[IPAMConfig(subnet=str(subnet))]))
    engine.container_create(ContainerSpec(name=name, image=image, command=["sleep", "1000"],
                                          networks=[EndpointSpec(network=name)]))
    engine.container_start(name)


def _nothing_left(root) -> None:
    assert not leaks.snapshot(root), leaks.snapshot(root).describe()
    assert not chain_exists("filter", Chains(naming.instance_tag(root)).fwd)
    assert not naming.run_dir(root).exists()


def test_teardown_removes_a_running_project_through_the_engine(hoist_root, busybox_image, unique_id, subnet):
    _running_bridge_container(hoist_root, busybox_image, f"bt{unique_id}", subnet)
    assert teardown_root(hoist_root) == []  # the engine's own removal was enough: nothing to sweep
    _nothing_left(hoist_root)


def test_teardown_sweeps_what_a_lost_state_directory_orphaned(hoist_root, busybox_image, unique_id, subnet):
    _running_bridge_container(hoist_root, busybox_image, f"bo{unique_id}", subnet)
    for entry in hoist_root.iterdir():  # what deleting a benchmark's temp root too early did
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    swept = teardown_root(hoist_root)
    assert any(s.startswith("link ") for s in swept) and any(s.startswith("iptables chain ") for s in swept)
    _nothing_left(hoist_root)
