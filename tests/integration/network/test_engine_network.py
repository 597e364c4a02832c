"""Bridge networking through the container engine: busybox containers resolving and reaching each other,
and a published port answering from the host."""

from __future__ import annotations

import socket
import time

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec, PortBinding
from tests.integration.runtime.conftest import _quick_launcher_exit, engine, output, wait_for  # noqa: F401

# Unknown names are forwarded to a closed port on the host's loopback: tests never query outside resolvers.
NO_UPSTREAM = ["127.0.0.1"]


def _host_read(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
            c.settimeout(3)
            return c.recv(100).decode()
    except OSError:
        return ""


def test_containers_resolve_reach_and_publish(engine, busybox_image, unique_id, subnet) -> None:  # noqa: F811
    net = f"n{unique_id}"
    engine.network_create(NetworkSpec(name=net, ipam=[IPAMConfig(subnet=str(subnet))]))
    server = engine.container_create(ContainerSpec(
        name=f"web{unique_id}", image=busybox_image, hostname="webhost", dns=NO_UPSTREAM,
        command=["sh", "-c", "while true; do echo pong | nc -l -p 8080; done"],
        networks=[EndpointSpec(network=net, aliases=["web"])], ports=[PortBinding(8080)]))
    engine.container_start(server.id)
    host_port = server.ports[0].host_port
    assert host_port > 0
    assert wait_for(lambda: _host_read(host_port).strip() == "pong", 20, "the published port")
    client = engine.container_create(ContainerSpec(
        name=f"cli{unique_id}", image=busybox_image, dns=NO_UPSTREAM, networks=[EndpointSpec(network=net, aliases=["client"])],
        command=["sh", "-c", "nslookup web; echo --; cat /etc/resolv.conf; echo --; "
                             "for i in 1 2 3 4 5; do echo x | nc -w 2 web 8080 && break; sleep 0.3; done"]))
    engine.container_start(client.id)
    assert engine.container_wait(client.id, timeout=60) == 0
    out = output(engine, client.id)
    ip = server.endpoints[0].ip_address
    assert ip in out.split("--")[0], out
    assert "nameserver 127.0.0.11" in out
    assert out.rstrip().endswith("pong"), out
    # A stopped container drops out of DNS while the others keep running.
    engine.container_stop(server.id, timeout=1)
    late = engine.container_create(ContainerSpec(
        name=f"late{unique_id}", image=busybox_image, dns=NO_UPSTREAM, networks=[EndpointSpec(network=net)],
        command=["sh", "-c", "nslookup web || echo NOTFOUND"]))
    engine.container_start(late.id)
    engine.container_wait(late.id, timeout=60)
    late_out = output(engine, late.id)
    assert ip not in late_out.split("Name:")[-1] and "NOTFOUND" in late_out, late_out
    engine.container_remove(late.id, force=True)
    start = time.monotonic()
    engine.container_remove(client.id, force=True)
    engine.container_remove(server.id, force=True)
    engine.network_remove(net)
    assert time.monotonic() - start < 30


def test_cli_connect_and_disconnect_a_container(engine, busybox_image, unique_id, subnet_factory) -> None:  # noqa: F811
    from tests.integration.network.test_cli_network import hoist

    first, second = f"a{unique_id}", f"b{unique_id}"
    sub2 = subnet_factory()
    engine.network_create(NetworkSpec(name=first, ipam=[IPAMConfig(subnet=str(subnet_factory()))]))
    engine.network_create(NetworkSpec(name=second, ipam=[IPAMConfig(subnet=str(sub2))]))
    c = engine.container_create(ContainerSpec(name=f"c{unique_id}", image=busybox_image, dns=NO_UPSTREAM,
                                              command=["sleep", "100"], networks=[EndpointSpec(network=first)]))
    fixed = str(sub2.network_address + 77)
    hoist("network", "connect", "--ip", fixed, "--alias", "extra", second, c.name)
    import json

    doc = json.loads(hoist("network", "inspect", second).stdout)[0]
    assert doc["Containers"][c.id]["IPv4Address"] == f"{fixed}/24"
    assert doc["Containers"][c.id]["Name"] == c.name
    busy = hoist("network", "rm", second, ok=False)
    assert busy.returncode != 0 and "active endpoints" in busy.stderr
    hoist("network", "disconnect", second, c.name)
    assert json.loads(hoist("network", "inspect", second).stdout)[0]["Containers"] == {}
    engine.container_remove(c.id, force=True)
    hoist("network", "rm", first, second)
