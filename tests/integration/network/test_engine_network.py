"""Bridge networking through the container engine: busybox containers resolving and reaching each other,
and a published port answering from the host."""

from __future__ import annotations

import socket
import time

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec, PortBinding
from tests.integration.runtime.conftest import _quick_launcher_exit, engine, output, wait_for  # noqa: F401


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
        name=f"web{unique_id}", image=busybox_image, hostname="webhost",
        command=["sh", "-c", "while true; do echo pong | nc -l -p 8080; done"],
        networks=[EndpointSpec(network=net, aliases=["web"])], ports=[PortBinding(8080)]))
    engine.container_start(server.id)
    host_port = server.ports[0].host_port
    assert host_port > 0
    assert wait_for(lambda: _host_read(host_port).strip() == "pong", 20, "the published port")
    client = engine.container_create(ContainerSpec(
        name=f"cli{unique_id}", image=busybox_image, networks=[EndpointSpec(network=net, aliases=["client"])],
        command=["sh", "-c", "nslookup web; echo --; cat /etc/resolv.conf; echo --; "
                             "for i in 1 2 3 4 5; do echo x | nc -w 2 web 8080 && break; sleep 0.3; done"]))
    engine.container_start(client.id)
    assert engine.container_wait(client.id, timeout=60) == 0
    out = output(engine, client.id)
    ip = server.endpoints[0].ip_address
    assert ip in out.split("--")[0], out
    assert "nameserver 127.0.0.11" in out
    assert out.rstrip().endswith("pong"), out
    start = time.monotonic()
    engine.container_remove(client.id, force=True)
    engine.container_remove(server.id, force=True)
    engine.network_remove(net)
    assert time.monotonic() - start < 30
