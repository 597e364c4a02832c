from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.network import dns
from runtime.network.resolver import ContainerResolver, NameTable, forward
from runtime.network.store import NetworkStore


def _net(store: NetworkStore, net_id: str) -> None:
    with store.db.transaction() as c:
        c.execute("INSERT INTO net_networks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  (net_id, net_id, "bridge", 0, 1, "{}", "{}", "10.0.0.0/24", "10.0.0.1", "10.0.0.0/24",
                   "[]", "b", "now"))


def _ctr(store: NetworkStore, cid: str, name: str, hostname: str, nets: dict[str, tuple[str, list[str]]],
         links: list[list[str]] = (), upstreams: list[str] = ()) -> None:  # type: ignore[assignment]
    with store.db.transaction() as c:
        c.execute("INSERT INTO net_containers VALUES (?,?,?,?,?,?,?)",
                  (cid, name, hostname, "bridge", "/x", json.dumps(list(upstreams)), json.dumps(list(links))))
        for net_id, (ip, aliases) in nets.items():
            c.execute("INSERT INTO net_endpoints VALUES (?,?,?,?,?,?,?,?)",
                      (cid, net_id, cid + net_id, "eth0", "v", ip, "m", json.dumps(aliases)))


@pytest.fixture
def store(tmp_path: Path) -> NetworkStore:
    s = NetworkStore(tmp_path)
    for n in ("front", "back", "other"):
        _net(s, n)
    _ctr(s, "web1", "p-web-1", "web1host", {"front": ("10.0.0.2", ["web"])}, links=[["p-db-1", "database"]])
    _ctr(s, "web2", "p-web-2", "w2", {"front": ("10.0.0.3", ["web"])})
    _ctr(s, "db1", "p-db-1", "d1", {"front": ("10.0.0.4", ["db"]), "back": ("10.0.1.4", ["db"])})
    _ctr(s, "lone", "p-lone-1", "l1", {"other": ("10.0.2.2", ["lone"])})
    return s


def test_names_resolve_only_on_shared_networks(store: NetworkStore, tmp_path: Path) -> None:
    t = NameTable(tmp_path, "web1")
    assert t.lookup("web") == ["10.0.0.2", "10.0.0.3"]  # replicas: all of them
    assert t.lookup("p-web-2") == ["10.0.0.3"]
    assert t.lookup("W2.") == ["10.0.0.3"]  # hostname, case-insensitive, trailing dot
    assert t.lookup("db") == ["10.0.0.4"]  # only the address on the shared network
    assert t.lookup("database") == ["10.0.0.4"]  # links alias
    assert t.lookup("lone") is None and t.lookup("p-lone-1") is None
    assert NameTable(tmp_path, "db1").lookup("db") == ["10.0.0.4", "10.0.1.4"]
    assert NameTable(tmp_path, "db1").lookup("database") is None  # the alias is web1's link only


def test_stopped_containers_drop_out(store: NetworkStore, tmp_path: Path) -> None:
    (tmp_path / "containers" / "web2").mkdir(parents=True)
    (tmp_path / "containers" / "web2" / "status.json").write_text('{"status": "exited"}')
    assert NameTable(tmp_path, "web1").lookup("web") == ["10.0.0.2"]
    (tmp_path / "containers" / "web2" / "status.json").write_text('{"status": "running"}')
    assert NameTable(tmp_path, "web1").lookup("web") == ["10.0.0.2", "10.0.0.3"]


@pytest.fixture
def upstream() -> Iterator[str]:
    """A fake upstream on 127.0.0.1 answering example.test with 192.0.2.10, everything else NXDOMAIN."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                msg, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            q = dns.parse_query(msg)
            if q.question.name == "example.test":
                sock.sendto(dns.build_response(q, 0, ["192.0.2.10"], authoritative=False), peer)
            else:
                sock.sendto(dns.build_response(q, dns.RCODE_NXDOMAIN), peer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"127.0.0.1#{sock.getsockname()[1]}"
    stop.set()
    t.join()
    sock.close()


def _ask(resolver: ContainerResolver, name: str, qtype: int = dns.TYPE_A) -> dns.Answer:
    got: list[bytes] = []
    done = threading.Event()
    resolver.handle(dns.build_query(42, name, qtype), lambda b: (got.append(b), done.set()))
    assert done.wait(5)
    return dns.parse_answer(got[0])


def test_handle_local_forwarded_nxdomain_servfail(store: NetworkStore, tmp_path: Path, upstream: str) -> None:
    _ctr(store, "asker", "p-asker-1", "a1", {"front": ("10.0.0.9", [])}, upstreams=[upstream])
    r = ContainerResolver(tmp_path, "asker", "/nonexistent")
    assert _ask(r, "web").addresses == ["10.0.0.2", "10.0.0.3"]
    aaaa = _ask(r, "web", dns.TYPE_AAAA)
    assert (aaaa.rcode, aaaa.addresses) == (dns.RCODE_NOERROR, [])  # known name, no IPv6 address
    assert _ask(r, "example.test").addresses == ["192.0.2.10"]
    assert _ask(r, "missing.test").rcode == dns.RCODE_NXDOMAIN
    no_upstream = ContainerResolver(tmp_path, "web2", "/nonexistent")
    assert _ask(no_upstream, "example.test").rcode == dns.RCODE_SERVFAIL


def test_reverse_lookup_of_a_peer(store: NetworkStore, tmp_path: Path) -> None:
    r = ContainerResolver(tmp_path, "web1", "/nonexistent")
    assert _ask(r, "3.0.0.10.in-addr.arpa", dns.TYPE_PTR).names == ["p-web-2"]
    assert NameTable(tmp_path, "web1").reverse("10.0.2.2") is None  # not on a shared network


def test_forward_gives_up_on_dead_upstream() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))  # bound, never answers
        port = s.getsockname()[1]
        assert forward(dns.build_query(1, "x"), [f"127.0.0.1#{port}", "not-an-ip"], timeout=0.2) is None


def test_garbage_gets_formerr(store: NetworkStore, tmp_path: Path) -> None:
    r = ContainerResolver(tmp_path, "web1", "/nonexistent")
    got: list[bytes] = []
    r.handle(b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab", got.append)
    assert dns.parse_answer(got[0]).rcode == dns.RCODE_FORMERR
