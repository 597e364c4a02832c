"""Releasing a container's network: the veths go with the netns in the kernel's batch, or are deleted
directly when the netns outlives its unmount; links are deleted without pyroute2."""

from __future__ import annotations

import os
import subprocess

import pytest

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec
from runtime.errors import NetworkError
from runtime.network import bridge, manager
from tests.integration.runtime.conftest import _quick_launcher_exit, engine  # noqa: F401


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def _veth(engine, container_id: str) -> str:  # noqa: F811
    return engine.network_manager().store.endpoints_of_container(container_id)[0].veth


def test_released_netns_takes_its_veth_along(engine, busybox_image, unique_id, subnet) -> None:  # noqa: F811
    net = f"r{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    made = [engine.container_create(ContainerSpec(name=f"r{unique_id}{i}", image=busybox_image,
                                                  networks=[EndpointSpec(network=net)], command=["true"])) for i in range(3)]
    veths = [_veth(engine, c.id) for c in made]
    assert all(_link_exists(v) for v in veths)
    for c in made:
        engine.container_remove(c.id)
    assert not any(_link_exists(v) for v in veths)
    engine.network_remove(net)


def test_a_veth_whose_netns_is_still_held_is_deleted_directly(engine, busybox_image, unique_id, subnet,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manager, "VETH_GONE_TIMEOUT", 0.2)
    net = f"h{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    c = engine.container_create(ContainerSpec(name=f"h{unique_id}", image=busybox_image,
                                              networks=[EndpointSpec(network=net)], command=["true"]))
    veth = _veth(engine, c.id)
    held = os.open(engine.network_manager().netns_path(c.id), os.O_RDONLY)  # keeps the netns alive
    try:
        engine.container_remove(c.id)
        assert not _link_exists(veth)
    finally:
        os.close(held)
    engine.network_remove(net)


def test_delete_link_by_name(unique_id) -> None:
    name = f"hstx{unique_id}"[:15]
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        bridge.delete_link_by_name(name)
        assert not _link_exists(name)
        bridge.delete_link_by_name(name)  # already gone: fine
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
    with pytest.raises(NetworkError, match="cannot delete link lo"):
        bridge.delete_link_by_name("lo")
