"""runtime.network.rtnl against the kernel, inside a throwaway network namespace (unshared by one thread
and gone with it): nothing it creates can reach the host or outlive the test."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

from runtime import syscalls as sc
from runtime.network import netns
from runtime.network.rtnl import NetlinkError, Rtnl

T = TypeVar("T")


def in_fresh_netns(fn: Callable[[], T]) -> T:
    def body() -> T:
        sc.unshare(sc.CLONE_NEWNET)
        return fn()

    return netns._in_thread(body)


def ip(*args: str) -> str:
    """`ip` inside the calling thread's netns (nsenter joins it through /proc/<pid>/task/<tid>/ns/net)."""
    path = f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net"
    return subprocess.run(["nsenter", f"--net={path}", "ip", *args], check=True, capture_output=True,
                          text=True).stdout


def test_bridge_veth_address_route_and_hairpin() -> None:
    def scenario() -> dict[str, str]:
        out = {}
        with Rtnl() as r:
            r.set_link(1, up=True)
            r.add_bridge("br0", mtu=1400)
            bridge = int(ip("-o", "link", "show", "br0").split(":")[0])
            out["bridge_mtu"] = ip("link", "show", "br0")  # before a 1500 port joins and lowers nothing
            r.add_address(bridge, "10.9.0.1", 24)
            r.set_link(bridge, up=True)
            r.add_veth("v0", "p0", mac="02:42:0a:09:00:02", up=True)
            v0 = int(ip("-o", "link", "show", "v0").split(":")[0])
            p0 = int(ip("-o", "link", "show", "p0").split(":")[0])
            r.set_link(p0, up=True, master=bridge)
            r.set_hairpin(p0)
            r.add_address(v0, "10.8.0.2", 24)
            r.add_default_route("10.8.0.1")
            out["addresses"] = ",".join(r.addresses(v0))
            out["routes"] = ",".join(x.dst for x in r.routes())
            out["bridge"] = ip("-d", "link", "show", "br0")
            out["veth"] = ip("link", "show", "v0")
            out["port"] = ip("-d", "link", "show", "p0")
            out["route"] = ip("route", "show", "default")
            out["addr"] = ip("-4", "addr", "show", "v0")
            with pytest.raises(NetlinkError) as exists:
                r.add_bridge("br0")
            out["exists"] = str(exists.value.code)
            r.delete_link(bridge)
            r.delete_link_named("v0")  # takes p0 along
            with pytest.raises(NetlinkError) as gone:
                r.delete_link_named("v0")
            out["gone"] = str(gone.value.code)
            out["left"] = ip("-o", "link", "show")
        return out

    out = in_fresh_netns(scenario)
    assert out["addresses"] == "10.8.0.2"
    assert "10.9.0.0/24" in out["routes"].split(",") and "127.0.0.1/32" in out["routes"].split(",")
    assert "mtu 1400" in out["bridge_mtu"]
    assert "bridge forward_delay" in out["bridge"] and "state UP" in out["bridge"]
    assert "02:42:0a:09:00:02" in out["veth"] and ",UP" in out["veth"]
    assert "master br0" in out["port"] and "hairpin on" in out["port"]
    assert out["route"].strip() == "default via 10.8.0.1 dev v0 proto static"
    assert "inet 10.8.0.2/24 scope global v0" in out["addr"] and " brd " not in out["addr"]
    assert out["exists"] == str(errno.EEXIST) and out["gone"] == str(errno.ENODEV)
    assert "br0" not in out["left"] and "v0" not in out["left"] and "p0" not in out["left"]


def test_veth_peer_is_created_directly_in_another_netns() -> None:
    outer = os.open(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        def scenario() -> tuple[str, str]:
            host_fd = os.open(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
            try:
                def inner() -> str:
                    with Rtnl() as r:
                        r.add_veth("eth0", "peer0", peer_netns_fd=host_fd, mtu=1300, up=True)
                    return ip("-o", "link", "show")
                inside = in_fresh_netns(inner)
                return inside, ip("-o", "link", "show", "peer0")
            finally:
                os.close(host_fd)

        inside, peer = in_fresh_netns(scenario)
    finally:
        os.close(outer)
    assert "eth0@" in inside and "mtu 1300" in inside and "peer0" not in inside
    assert "peer0@" in peer and "mtu 1300" in peer


def test_wait_links_gone_sees_the_deletion_and_times_out_on_a_link_that_stays() -> None:
    from runtime.network import bridge

    def scenario() -> tuple[list[str], float, list[str], float]:
        with Rtnl() as r:
            r.add_veth("a0", "b0")
            r.add_veth("keep0", "keep1")
        path = f"/proc/{os.getpid()}/task/{threading.get_native_id()}/ns/net"
        deleter = subprocess.Popen(["sh", "-c", f"sleep 0.2; nsenter --net={path} ip link del a0"])
        try:
            t = time.monotonic()
            gone = bridge.wait_links_gone(["a0", "b0"], 10.0)
            waited = time.monotonic() - t
        finally:
            deleter.wait()
        t = time.monotonic()
        stays = bridge.wait_links_gone(["keep0"], 0.3)
        return gone, waited, stays, time.monotonic() - t

    gone, waited, stays, timed_out = in_fresh_netns(scenario)
    assert gone == [] and 0.15 < waited < 5.0  # noticed soon after the deletion, long before the timeout
    assert stays == ["keep0"] and timed_out >= 0.3
