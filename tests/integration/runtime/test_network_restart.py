"""A bridge container across a reboot (its netns, links and rules gone) and after connect/disconnect."""

from __future__ import annotations

from pathlib import Path

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec
from runtime.network import bridge, netns
from tests.integration.runtime.conftest import output


def _lose_kernel_objects(engine, container_id: str, network: str) -> None:
    """What a reboot does to a stopped bridge container: /run (its netns mount), links and iptables go."""
    manager = engine.network_manager()
    n = manager.store.find_network(network)
    netns.remove(manager.netns_path(container_id))
    ipr = bridge.iproute()
    try:
        for e in manager.store.endpoints_of_container(container_id):
            bridge.delete_link(ipr, e.veth)
        bridge.delete_link(ipr, n.bridge)
    finally:
        ipr.close()
    manager.firewall.remove_network(n.id)
    manager.firewall.remove_base()


def test_bridge_container_starts_again_after_its_network_objects_were_lost(engine, busybox_image, unique_id,
                                                                           subnet):
    net = f"rb{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    name = f"rb{unique_id}"
    try:
        state = engine.container_create(ContainerSpec(
            name=name, image=busybox_image, networks=[EndpointSpec(network=net)],
            command=["sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"]))
        engine.container_start(name)
        assert engine.container_wait(name, timeout=30) == 0
        _lose_kernel_objects(engine, state.id, net)
        assert not netns.is_netns(Path(engine.network_manager().netns_path(state.id)))
        engine.container_start(name)  # failed before: the supervisor's resolver found no netns
        assert engine.container_wait(name, timeout=30) == 0, engine.container_inspect(name).error
        address = f"{state.endpoints[0].ip_address}/{subnet.prefixlen}"
        assert output(engine, name).split() == [address, address]  # the same address, from the database
    finally:
        for s in engine.container_list(all=True):
            engine.container_remove(s.id, force=True)
        engine.network_remove(net)


def test_connect_and_disconnect_update_the_container_record(engine, busybox_image, unique_id, subnet_factory):
    first, second = f"ca{unique_id}", f"cb{unique_id}"
    engine.network_create(NetworkSpec(name=first, ipam=[IPAMConfig(subnet=str(subnet_factory()))]))
    engine.network_create(NetworkSpec(name=second, ipam=[IPAMConfig(subnet=str(subnet_factory()))]))
    name = f"cc{unique_id}"
    try:
        engine.container_create(ContainerSpec(name=name, image=busybox_image, command=["sleep", "1000"],
                                              networks=[EndpointSpec(network=first)]))
        assert [e.network for e in engine.container_inspect(name).endpoints] == [first]
        engine.network_connect(second, name, EndpointSpec(network=second, aliases=["extra"]))
        endpoints = engine.container_inspect(name).endpoints
        assert sorted(e.network for e in endpoints) == sorted([first, second])
        assert next(e for e in endpoints if e.network == second).aliases == ["extra"]
        engine.network_disconnect(first, name)
        assert [e.network for e in engine.container_inspect(name).endpoints] == [second]
    finally:
        for s in engine.container_list(all=True):
            engine.container_remove(s.id, force=True)
        engine.network_remove(first)
        engine.network_remove(second)
