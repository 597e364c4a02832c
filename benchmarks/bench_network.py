"""Bridge networking (root): attach time per container, and throughput/latency through hoist's network
against the same transfer over loopback on the host, measured in the same run.

Run: .venv/bin/python -m benchmarks.bench_network [--sizes 1,10,50] [--mbytes 256] [--rounds 2000] [--repeat 3]

- import: runtime.network.bridge (our netlink client) as a process, against pyroute2's IPRoute (what it
  used before), each minus a bare interpreter's start, alternated; network create / remove (bridge, firewall);
- attach: NetworkManager.prepare_container for N containers on one network (netns + veth + address + route +
  /etc files + state rows), median and mean per container (target < 15 ms each);
- container -> container (same network) and host -> published port (127.0.0.1, DNAT), each as a ratio to
  host loopback: bulk TCP throughput and 1-byte TCP round-trip latency (medians of --repeat runs).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import secrets
import select
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from runtime.api import ContainerSpec, EndpointSpec, IPAMConfig, NetworkSpec, PortBinding

# One connection per measurement: "T<n>" then n bytes -> reply "ok"; "L<n>" then n 1-byte ping-pongs.
SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = c.makefile("rb")
    head = f.readline().decode().strip(); kind, n = head[0], int(head[1:])
    if kind == "T":
        left = n
        while left:
            chunk = f.read1(min(left, 1 << 20))
            if not chunk: break
            left -= len(chunk)
        c.sendall(b"ok")
    else:
        for _ in range(n):
            c.sendall(f.read(1))
    c.close()
"""

CLIENT = r"""
import json, socket, sys, time, statistics
host, port, mbytes, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
n = mbytes << 20
c = socket.create_connection((host, port), timeout=30)
buf = b"x" * (1 << 20)
t = time.perf_counter()
c.sendall(f"T{n}\n".encode())
for _ in range(mbytes): c.sendall(buf)
assert c.recv(2) == b"ok"
tput = mbytes / (time.perf_counter() - t)
c.close()
c = socket.create_connection((host, port), timeout=30)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
c.sendall(f"L{rounds}\n".encode())
rtts = []
for _ in range(rounds):
    t = time.perf_counter(); c.sendall(b"p"); c.recv(1); rtts.append(time.perf_counter() - t)
print(json.dumps({"mbps": tput, "rtt_us": statistics.median(rtts) * 1e6}))
"""


DNS_CLIENT = r"""
import socket, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from runtime.network import dns
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
times = []
for i in range(int(sys.argv[2])):
    t = time.perf_counter(); s.sendto(dns.build_query(i & 0xFFFF, "srv"), ("127.0.0.11", 53))
    assert dns.parse_answer(s.recv(4096)).addresses; times.append(time.perf_counter() - t)
print(statistics.median(times) * 1e6)
"""


def _start_server(netns_path: str | None, port: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", SERVER, str(port)]
    if netns_path:
        cmd = ["nsenter", f"--net={netns_path}", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    if not ready or proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("benchmark server did not start")
    return proc


def _client(netns_path: str | None, host: str, port: int, mbytes: int, rounds: int) -> dict[str, float]:
    cmd = [sys.executable, "-c", CLIENT, host, str(port), str(mbytes), str(rounds)]
    if netns_path:
        cmd = ["nsenter", f"--net={netns_path}", *cmd]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout)


def _free_subnet() -> str:
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used = []
    for line in routes.splitlines():
        for word in line.split()[:2]:
            try:
                used.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                pass
    for third in range(0, 256):
        cand = ipaddress.ip_network(f"10.251.{third}.0/24")
        if not any(cand.overlaps(u) for u in used):
            return str(cand)
    raise RuntimeError("no free 10.251.x.0/24")


def _iproute2_attach(tag: str, i: int, bridge_name: str, ip: str, prefix: int, gateway: str) -> None:
    """The reference: the same attach with iproute2 in two ``ip -batch`` runs (host side, then inside)."""
    ns, veth = f"hoist-{tag}-ref{i}", f"hst{tag}r{i}"
    host = f"netns add {ns}\nlink add {veth} type veth peer name eth0 netns {ns}\nlink set {veth} master {bridge_name} up\n"
    inside = f"link set lo up\naddr add {ip}/{prefix} dev eth0\nlink set eth0 up\nroute add default via {gateway}\n"
    subprocess.run(["ip", "-batch", "-"], input=host, text=True, check=True)
    subprocess.run(["ip", "-n", ns, "-batch", "-"], input=inside, text=True, check=True)


def _iproute2_release(tag: str, i: int) -> None:
    subprocess.run(["ip", "link", "del", f"hst{tag}r{i}"], capture_output=True)
    subprocess.run(["ip", "netns", "del", f"hoist-{tag}-ref{i}"], capture_output=True)


# How hoist imported pyroute2 before runtime.network.rtnl: its IPRoute without running pyroute2/__init__.py
# (which imports every netlink family), the package registered unexecuted.
PYROUTE2_AS_BEFORE = """
import importlib.util, sys
spec = importlib.util.find_spec("pyroute2")
sys.modules["pyroute2"] = importlib.util.module_from_spec(spec)
from pyroute2.iproute.linux import IPRoute
"""


def bench_import(runs: int = 15) -> None:
    """What the netlink layer costs a CLI process that creates networks or attaches containers: the network
    manager's whole import (our netlink client included), and what pyroute2 would add on top of it."""
    proj = str(Path(__file__).resolve().parent.parent)
    manager = f"import sys; sys.path.insert(0, {proj!r}); import runtime.network.manager"
    cases = {"bare": "pass", "manager": manager, "manager+pyroute2": manager + "\n" + PYROUTE2_AS_BEFORE}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(runs):  # alternate, so load changes hit all cases alike
        for key, code in cases.items():
            t = time.perf_counter()
            ok = subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
            if ok and key in times:
                times[key].append(time.perf_counter() - t)
            elif not ok:
                times.pop(key, None)  # pyroute2 not installed: no reference row
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"import runtime.network.manager {(med['manager'] - med['bare']) * 1000:6.1f} ms over a bare interpreter "
          f"({med['bare'] * 1000:.0f} ms; stdlib it shares with the CLI included), median of {runs}")
    if "manager+pyroute2" in med:
        print(f"import pyroute2 IPRoute on top {(med['manager+pyroute2'] - med['manager']) * 1000:6.1f} ms "
              "(as hoist imported it before runtime.network.rtnl)")


def bench_network_lifecycle(manager, runs: int = 10) -> None:  # type: ignore[no-untyped-def]
    create, remove = [], []
    for _ in range(runs):
        t = time.perf_counter()
        manager.create_network(NetworkSpec(name="benchlife", ipam=[IPAMConfig(subnet=_free_subnet())]))
        create.append(time.perf_counter() - t)
        t = time.perf_counter()
        manager.remove_network("benchlife")
        remove.append(time.perf_counter() - t)
    print(f"network create {statistics.median(create) * 1000:6.2f} ms, remove {statistics.median(remove) * 1000:6.2f} ms "
          f"(bridge, firewall, state; the root's only network), median of {runs}")


def bench_attach(manager, sizes: list[int]) -> None:  # type: ignore[no-untyped-def]
    for n in sizes:
        name = f"bench{n}"
        info = manager.create_network(NetworkSpec(name=name, ipam=[IPAMConfig(subnet=_free_subnet())]))
        net = ipaddress.ip_network(info.subnet)
        ids = [secrets.token_hex(32) for _ in range(n)]
        ours, cpu, ref, again = [], [], [], []
        try:
            for i, cid in enumerate(ids):  # alternate with the reference, so load hits both alike
                spec = ContainerSpec(name=f"{name}-{i}", image="none",
                                     networks=[EndpointSpec(network=name, aliases=["svc"])])
                t, c = time.perf_counter(), time.process_time()
                manager.prepare_container(cid, spec)
                ours.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                t = time.perf_counter()
                manager.prepare_container(cid, spec)  # what every start does: nothing to rebuild here
                again.append(time.perf_counter() - t)
                t = time.perf_counter()
                _iproute2_attach(manager.tag, i, info.bridge, str(net.network_address + 200 + i % 50),
                                 net.prefixlen, info.gateway)
                ref.append(time.perf_counter() - t)
        finally:
            t = time.perf_counter()
            for cid in ids:
                manager.release_container(cid)
            release = (time.perf_counter() - t) / n
            for i in range(n):
                _iproute2_release(manager.tag, i)  # the reference's objects carry our tag: bench_root sweeps them
            manager.remove_network(name)
        med, ref_med = statistics.median(ours), statistics.median(ref)
        print(f"attach {n:>3} containers: median {med * 1000:6.2f} ms (cpu {statistics.median(cpu) * 1000:5.2f} ms) "
              f"per container, target < 15 ms; iproute2 -batch {ref_med * 1000:6.2f} ms, ratio {med / ref_med:4.2f}; "
              f"release {release * 1000:6.2f} ms each; prepare again (each start) "
              f"{statistics.median(again) * 1000:5.2f} ms")


def bench_traffic(manager, mbytes: int, rounds: int, repeat: int) -> None:  # type: ignore[no-untyped-def]
    manager.create_network(NetworkSpec(name="benchtraffic", ipam=[IPAMConfig(subnet=_free_subnet())]))
    a, b = secrets.token_hex(32), secrets.token_hex(32)
    procs: list[subprocess.Popen[str]] = []
    try:
        na = manager.prepare_container(a, ContainerSpec(name="srv", image="none", ports=[PortBinding(5001)],
                                                         networks=[EndpointSpec(network="benchtraffic")]))
        nb = manager.prepare_container(b, ContainerSpec(name="cli", image="none",
                                                         networks=[EndpointSpec(network="benchtraffic")]))
        procs.append(_start_server(na.netns_path, 5001))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            loop_port = s.getsockname()[1]
        procs.append(_start_server(None, loop_port))
        cases = {"loopback (host)": (None, "127.0.0.1", loop_port),
                 "container -> container": (nb.netns_path, na.endpoints[0].ip_address, 5001),
                 "host -> published port": (None, "127.0.0.1", na.ports[0].host_port)}
        results: dict[str, list[dict[str, float]]] = {k: [] for k in cases}
        for _ in range(repeat):  # alternate, so load changes hit all cases alike
            for key, (ns, host, port) in cases.items():
                results[key].append(_client(ns, host, port, mbytes, rounds))
        from runtime.network.resolver import ContainerResolver

        resolver = ContainerResolver(manager.root, b, nb.netns_path)
        resolver.start()
        try:
            proj = str(Path(__file__).resolve().parent.parent)
            out = subprocess.run(["nsenter", f"--net={nb.netns_path}", sys.executable, "-c", DNS_CLIENT, proj,
                                  str(rounds // 4)], capture_output=True, text=True, check=True).stdout
            print(f"embedded DNS: name of a peer answered in {float(out):.0f} us (median, UDP, from the container)")
        finally:
            resolver.stop()
        base_t = statistics.median(r["mbps"] for r in results["loopback (host)"])
        base_l = statistics.median(r["rtt_us"] for r in results["loopback (host)"])
        for key, rs in results.items():
            t = statistics.median(r["mbps"] for r in rs)
            lat = statistics.median(r["rtt_us"] for r in rs)
            print(f"{key:<24} throughput {t:8.0f} MB/s (x{t / base_t:4.2f} of loopback)   "
                  f"round trip {lat:6.1f} us (x{lat / base_l:4.2f} of loopback)")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        manager.release_container(a)
        manager.release_container(b)
        manager.remove_network("benchtraffic")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,10,50")
    ap.add_argument("--mbytes", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from benchmarks._teardown import bench_root
    from runtime.network.manager import NetworkManager

    # The teardown also sweeps what a failed release left (a TemporaryDirectory alone orphaned netns mounts).
    with bench_root("hoist-bench-net-") as (_, root):
        manager = NetworkManager(root)
        bench_import()
        bench_network_lifecycle(manager)
        bench_attach(manager, [int(s) for s in args.sizes.split(",")])
        bench_traffic(manager, args.mbytes, args.rounds, args.repeat)


if __name__ == "__main__":
    main()
