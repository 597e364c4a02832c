"""Containers on a bridge network: the netns made at create, the supervisor's DNS, restarts keep it."""

from __future__ import annotations

from dataclasses import replace

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec
from tests.integration.runtime.conftest import output


def test_bridge_container_gets_its_address_dns_and_keeps_them_across_restarts(engine, busybox_image, unique_id,
                                                                              subnet):
    net = f"n{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    name = f"web{unique_id}"
    spec = ContainerSpec(name=name, image=busybox_image, networks=[EndpointSpec(network=net, aliases=["api"])],
                         command=["sh", "-c", f"ip -4 -o addr show eth0 | awk '{{print $4}}'; "
                                              f"nslookup api 127.0.0.11 | grep -c {subnet.network_address + 2}"])
    try:
        state = engine.container_create(spec)
        address = state.endpoints[0].ip_address
        assert address in [str(h) for h in subnet.hosts()]
        engine.container_start(name)
        assert engine.container_wait(name, timeout=30) == 0
        engine.container_start(name)  # a second run joins the same netns: same address, no new network work
        assert engine.container_wait(name, timeout=30) == 0
        lines = output(engine, name).split()
        assert lines == [f"{address}/{subnet.prefixlen}", "1"] * 2
        other = engine.container_create(replace(spec, name=f"side{unique_id}", networks=[],
                                                network_mode=f"container:{name}",
                                                command=["sh", "-c", "ip -4 -o addr show eth0"]))
        engine.container_start(other.id)
        assert engine.container_wait(other.id, timeout=30) == 0
        assert f"{address}/{subnet.prefixlen}" in output(engine, other.id)  # the same network namespace
    finally:
        for s in engine.container_list(all=True):
            engine.container_remove(s.id, force=True)
        engine.network_remove(net)
