"""Bridge networking against the kernel, without the container runtime: each "container" is a netns made by
the network manager, with its embedded resolver, running small Python servers and clients (nsenter)."""

from __future__ import annotations

import socket
import subprocess

import pytest

from runtime import naming
from runtime.api import EndpointSpec, PortBinding
from runtime.errors import Conflict
from runtime.network import netns
from tests.integration.network.conftest import Harness, docker_like_host, run_client


def _ip(net) -> str:  # type: ignore[no-untyped-def]
    return net.endpoints[0].ip_address


def test_same_network_reach_by_name_and_alias_tcp_udp(harness: Harness, subnet) -> None:
    harness.network("front", subnet)
    _, a = harness.container("p-web-1", [("front", ["web", "www"])], hostname="webhost")
    _, b = harness.container("p-client-1", [("front", ["client"])])
    harness.serve(a.netns_path, "web", 8080)
    ops = [["resolve", name] for name in ("web", "www", "p-web-1", "webhost")]
    got = run_client(b.netns_path, ops)
    for op in ops:
        assert got[f"resolve:{op[1]}"] == {"rcode": 0, "addresses": [_ip(a)]}, op
    got = run_client(b.netns_path, [["tcp", _ip(a), 8080], ["udp", _ip(a), 8080],
                                    ["resolve", "nosuchname"], ["resolve", "web", 28], ["resolve_tcp", "www"]])
    assert got[f"tcp:{_ip(a)}:8080"] == "web:hi"
    assert got[f"udp:{_ip(a)}:8080"] == "web:hi"
    assert got["resolve:nosuchname"]["rcode"] == 2  # forwarded to a dead upstream: SERVFAIL, not a hang
    assert got["resolve:web:28"] == {"rcode": 0, "addresses": []}  # AAAA of a known IPv4-only name
    assert got["resolve_tcp:www"] == {"rcode": 0, "addresses": [_ip(a)]}  # DNS over TCP
    hosts = a.etc_files["/etc/hosts"].read_text()
    assert f"{_ip(a)}\twebhost" in hosts
    assert a.etc_files["/etc/resolv.conf"].read_text().startswith("nameserver 127.0.0.11\n")


def test_different_networks_cannot_reach_each_other(harness: Harness, subnet_factory) -> None:
    harness.network("one", subnet_factory())
    harness.network("two", subnet_factory())
    _, a = harness.container("p-a-1", [("one", ["a"])])
    _, b = harness.container("p-b-1", [("two", ["b"])])
    _, both = harness.container("p-both-1", [("one", []), ("two", [])])
    harness.serve(a.netns_path, "a", 7000)
    got = run_client(b.netns_path, [["resolve", "a"], ["tcp", _ip(a), 7000], ["udp", _ip(a), 7000]])
    assert got["resolve:a"]["addresses"] == []
    assert got[f"tcp:{_ip(a)}:7000"].startswith("error:")
    assert got[f"udp:{_ip(a)}:7000"].startswith("error:")
    # A container on both networks reaches it: the server was up, the drop was isolation.
    got = run_client(both.netns_path, [["resolve", "a"], ["tcp", _ip(a), 7000]])
    assert got["resolve:a"]["addresses"] == [_ip(a)]
    assert got[f"tcp:{_ip(a)}:7000"] == "a:hi"


def test_internal_network_has_no_way_out(harness: Harness, subnet_factory) -> None:
    harness.network("inner", subnet_factory(), internal=True)
    outer_gw = harness.manager.inspect_network(harness.network("outer", subnet_factory())).gateway
    _, sealed = harness.container("p-sealed-1", [("inner", [])])
    _, free = harness.container("p-free-1", [("outer", [])])
    routes = subprocess.run(["nsenter", f"--net={sealed.netns_path}", "ip", "route"], capture_output=True,
                            text=True, check=True).stdout
    assert "default" not in routes
    # A host listener on all addresses; the other network's gateway is a host address this test made.
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert run_client(sealed.netns_path, [["tcp", outer_gw, port]])[f"tcp:{outer_gw}:{port}"].startswith(
            "error:")
        s = run_client(free.netns_path, [["tcp", outer_gw, port]], timeout=30)
        # The connection was accepted by the kernel (the listener never answers, so the read times out).
        assert s[f"tcp:{outer_gw}:{port}"] in ("error:TimeoutError", "error:timeout")


def test_published_tcp_udp_ports_answer_from_the_host(harness: Harness, subnet_factory) -> None:
    harness.network("pub", subnet_factory())
    host_addr = harness.manager.inspect_network(harness.network("addr", subnet_factory())).gateway
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        fixed = s.getsockname()[1]
    _, a = harness.container("p-pub-1", [("pub", [])],
                             ports=[PortBinding(9000, "tcp", "", fixed), PortBinding(9000, "udp", "", fixed),
                                    PortBinding(9000, "tcp", "127.0.0.1", 0)])
    harness.serve(a.netns_path, "pub", 9000)
    rnd = next(p.host_port for p in a.ports if p.host_ip == "127.0.0.1")
    assert rnd > 0 and rnd != fixed
    assert [(p.protocol, p.host_port) for p in harness.manager.container_ports(a.netns_path.rsplit("/", 1)[1])
            ] == [("tcp", fixed), ("udp", fixed), ("tcp", rnd)]
    got = run_client(None, [["tcp", "127.0.0.1", fixed], ["udp", "127.0.0.1", fixed],
                            ["tcp", host_addr, fixed], ["udp", host_addr, fixed], ["tcp", "127.0.0.1", rnd]])
    assert set(got.values()) == {"pub:hi"}, got
    # ...and from another container, through a host address; and from the container itself (hairpin).
    _, other = harness.container("p-other-1", [("addr", [])])
    got = run_client(other.netns_path, [["tcp", host_addr, fixed], ["udp", host_addr, fixed]])
    assert set(got.values()) == {"pub:hi"}, got
    got = run_client(a.netns_path, [["tcp", host_addr, fixed]])
    assert got[f"tcp:{host_addr}:{fixed}"] == "pub:hi"


def test_port_conflict_fails_before_anything_is_created(harness: Harness, subnet, hoist_root) -> None:
    harness.network("busy", subnet)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        with pytest.raises(Conflict, match="already allocated"):
            harness.container("p-x-1", [("busy", [])], ports=[PortBinding(80, "tcp", "127.0.0.1", taken)],
                              container_id="f" * 64)
    assert not (naming.run_dir(hoist_root) / "netns" / ("f" * 64)).exists()
    assert harness.manager.inspect_network("busy").containers == {}
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert naming.link_prefix(hoist_root) + "v" not in links
    # Published by another container (no process holds it: DNAT) is a conflict too.
    _, first = harness.container("p-y-1", [("busy", [])], ports=[PortBinding(80, "udp", "", 0)])
    with pytest.raises(Conflict):
        harness.container("p-z-1", [("busy", [])], ports=[PortBinding(81, "udp", "", first.ports[0].host_port)])


def test_replicas_resolve_to_all_and_names_follow_recreation(harness: Harness, subnet) -> None:
    harness.network("rep", subnet)
    ips = []
    ids = []
    for i in range(3):
        cid, net = harness.container(f"p-web-{i + 1}", [("rep", ["web"])])
        ids.append(cid)
        ips.append(_ip(net))
    _, client = harness.container("p-c-1", [("rep", [])])
    assert sorted(run_client(client.netns_path, [["resolve", "web"]])["resolve:web"]["addresses"]) == sorted(ips)
    # Recreate replica 1 at another address while the client's resolver keeps running.
    harness.release(ids[0])
    new_ip = str(subnet.network_address + 200)
    harness.container("p-web-1", [EndpointSpec(network="rep", aliases=["web"], ipv4_address=new_ip)])
    got = run_client(client.netns_path, [["resolve", "web"], ["resolve", "p-web-1"]])
    assert sorted(got["resolve:web"]["addresses"]) == sorted(ips[1:] + [new_ip])
    assert got["resolve:p-web-1"]["addresses"] == [new_ip]


def test_connect_disconnect_and_network_in_use(harness: Harness, subnet_factory) -> None:
    harness.network("base", subnet_factory())
    harness.network("extra", subnet_factory(), options={"com.docker.network.driver.mtu": "1400"})
    cid, a = harness.container("p-a-1", [("base", [])])
    state = harness.manager.connect("extra", cid, EndpointSpec(network="extra", aliases=["late"]))
    addrs = subprocess.run(["nsenter", f"--net={a.netns_path}", "ip", "-o", "-4", "addr"], capture_output=True,
                           text=True, check=True).stdout
    assert state.ip_address in addrs and "eth1" in addrs
    eth1 = subprocess.run(["nsenter", f"--net={a.netns_path}", "ip", "-o", "link", "show", "eth1"],
                          capture_output=True, text=True, check=True).stdout
    assert "mtu 1400" in eth1  # the network's driver mtu option
    assert state.ip_address in a.etc_files["/etc/hosts"].read_text()
    with pytest.raises(Conflict, match="active endpoints"):
        harness.manager.remove_network("extra")
    with pytest.raises(Conflict):
        harness.manager.connect("extra", cid, EndpointSpec(network="extra"))
    harness.manager.disconnect("extra", cid)
    assert state.ip_address not in a.etc_files["/etc/hosts"].read_text()
    assert harness.manager.prune() == ["extra"]


def test_docker_style_forward_drop_host(harness: Harness, subnet, subnet_factory, hoist_root) -> None:
    """With br_netfilter and FORWARD policy DROP (a host running Docker), containers on one network still
    talk, because hoist jumps to its own accept rules; without that jump the same traffic is dropped."""
    with docker_like_host(naming.instance_tag(hoist_root)) as host:
        def scenario() -> None:
            try:
                harness.network("dock", subnet)
                harness.network("apart", subnet_factory())
                _, a = harness.container("p-a-1", [("dock", ["svc"])], ports=[PortBinding(8000, "tcp", "", 0),
                                                                           PortBinding(8000, "udp", "", 0)])
                _, b = harness.container("p-b-1", [("dock", [])])
                _, c = harness.container("p-c-1", [("apart", [])])
                harness.serve(a.netns_path, "svc", 8000)
                got = run_client(b.netns_path, [["resolve", "svc"], ["tcp", _ip(a), 8000], ["udp", _ip(a), 8000]])
                assert got["resolve:svc"]["addresses"] == [_ip(a)]
                assert got[f"tcp:{_ip(a)}:8000"] == "svc:hi" and got[f"udp:{_ip(a)}:8000"] == "svc:hi"
                tcp_port, udp_port = (p.host_port for p in a.ports)
                got = run_client(None, [["tcp", "127.0.0.1", tcp_port], ["udp", "127.0.0.1", udp_port]])
                assert set(got.values()) == {"svc:hi"}, got  # published ports, from this "host"
                got = run_client(c.netns_path, [["tcp", _ip(a), 8000]])
                assert got[f"tcp:{_ip(a)}:8000"].startswith("error:")  # still isolated
                jump = harness.manager.firewall.chains.jumps()[0][2].split()
                subprocess.run(["iptables", "-D", "FORWARD", *jump], check=True)
                got = run_client(b.netns_path, [["tcp", _ip(a), 8000]])
                assert got[f"tcp:{_ip(a)}:8000"].startswith("error:"), "the test host does not drop forwarding"
            finally:
                harness.close()

        netns.run_in(host, scenario)


def test_prepare_again_rebuilds_what_a_reboot_lost(harness: Harness, subnet) -> None:
    """The kernel objects go (netns, links, rules) but the state database stays: preparing the same
    container again brings back its netns, address and published port."""
    from pathlib import Path

    from runtime.api import ContainerSpec
    from runtime.network import bridge

    harness.network("boot", subnet)
    cid, before = harness.container("p-a-1", [("boot", [])], ports=[PortBinding(7100, "tcp", "127.0.0.1", 0)],
                                    resolver=False)
    m = harness.manager
    n = m.store.find_network("boot")
    netns.remove(Path(before.netns_path))
    ipr = bridge.iproute()
    try:
        for e in m.store.endpoints_of_container(cid):
            bridge.delete_link(ipr, e.veth)
        bridge.delete_link(ipr, n.bridge)
    finally:
        ipr.close()
    m.firewall.remove_network(n.id)
    m.firewall.remove_base()
    after = m.prepare_container(cid, ContainerSpec(name="p-a-1", image="none"))
    assert after.endpoints == before.endpoints and after.ports == before.ports
    harness.serve(after.netns_path, "back", 7100)
    port = after.ports[0].host_port
    assert run_client(None, [["tcp", "127.0.0.1", port]])[f"tcp:127.0.0.1:{port}"] == "back:hi"


def test_release_is_safe_twice_and_after_a_half_done_teardown(harness: Harness, subnet, hoist_root) -> None:
    from pathlib import Path

    harness.network("rel", subnet)
    cid, net = harness.container("p-r-1", [("rel", [])], ports=[PortBinding(80, "udp", "", 0)], resolver=False)
    netns.remove(Path(net.netns_path))  # as if a crash had got this far
    harness.manager.release_container(cid)
    harness.manager.release_container(cid)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert naming.link_prefix(hoist_root) + "v" not in links
    assert harness.manager.container_ports(cid) == [] and harness.manager.inspect_network("rel").containers == {}
    nat = subprocess.run(["iptables", "-t", "nat", "-S"], capture_output=True, text=True).stdout
    assert harness.manager.firewall.container_comment(cid) not in nat


def test_default_network_is_made_on_demand_and_goes_with_its_last_container(harness: Harness) -> None:
    from runtime.network.manager import DEFAULT_NETWORK, IMPLICIT_LABEL

    first, a = harness.container("p-a-1", [], resolver=False)
    second, b = harness.container("p-b-1", [], resolver=False)
    info = harness.manager.inspect_network(DEFAULT_NETWORK)
    assert info.labels == {IMPLICIT_LABEL: "true"} and set(info.containers) == {first, second}
    assert a.endpoints[0].network == DEFAULT_NETWORK and a.endpoints[0].gateway == info.gateway
    harness.release(first)
    assert harness.manager.inspect_network(DEFAULT_NETWORK).containers == {second: b.endpoints[0].ip_address}
    harness.release(second)
    assert harness.manager.list_networks() == []
