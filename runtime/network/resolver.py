"""The embedded DNS server of one container (Docker's 127.0.0.11 model), run by its supervisor.

Sockets are created by a short-lived thread that setns()es into the container's netns: a socket keeps the
netns it was created in, so the serving thread stays in the host netns — and forwarding to the host's own
resolvers (even a loopback one such as systemd-resolved) works. No firewall rules are needed.

Names are read from the state database on every query, so they follow containers that start, stop, scale
and are recreated while this one runs. Stdlib only: this runs inside the lean supervisor process.
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from runtime import syscalls as sc

TYPE_CHECKING = False  # not typing's: importing typing costs a supervisor ~3 ms; type checkers know the name
if TYPE_CHECKING:
    from runtime.network.store import NetworkStore

LISTEN_ADDR = "127.0.0.11"
LISTEN_PORT = 53
TTL = 5  # short: names change as containers come and go
FORWARD_TIMEOUT = 2.0
MAX_FORWARDS = 32  # in flight per container; beyond that queries are dropped and the client retries
_INACTIVE = ("created", "exited", "dead")


def parse_upstream(text: str) -> tuple[str, int]:
    """``ip`` or ``ip#port`` (dnsmasq's notation for a port other than 53)."""
    host, _, port = text.partition("#")
    return host, int(port) if port else 53


class NameTable:
    """Answers "which addresses does NAME have, as seen from container C?" from the state database."""

    def __init__(self, root: Path, container_id: str) -> None:
        self.root = Path(root)
        self.container_id = container_id
        self._store: NetworkStore | None = None

    @property
    def store(self) -> NetworkStore:
        # Opened on the first query, not when the supervisor starts the resolver: the store's imports
        # (sqlite3, ipaddress, its dataclasses) cost ~10 ms of CPU on every container start otherwise.
        if self._store is None:
            from runtime.network.store import NetworkStore

            self._store = NetworkStore(self.root)
        return self._store

    def _active(self, container_id: str) -> bool:
        """False for a container the engine knows as not running (no status file: a process we do not
        manage, e.g. in tests, counts as running)."""
        path = self.root / "containers" / container_id / "status.json"
        try:
            import json

            return json.loads(path.read_text()).get("status") not in _INACTIVE
        except (OSError, ValueError):
            return True

    def lookup(self, name: str) -> list[str] | None:
        name = name.lower().rstrip(".")
        mine = self.store.endpoints_of_container(self.container_id)
        if not mine:
            return None
        me = self.store.container(self.container_id)
        link_targets = {cname.lower() for cname, alias in (me.links if me else [])
                        if alias.lower() == name or cname.lower() == name}
        found: list[str] = []
        for net_id in dict.fromkeys(e.network_id for e in mine):
            peers = self.store.endpoints_of_network(net_id)
            rows = self.store.containers([e.container_id for e in peers])
            for ep in peers:
                row = rows.get(ep.container_id)
                names = {a.lower() for a in ep.aliases}
                if row is not None:
                    names |= {row.name.lower(), row.hostname.lower()}
                    if row.name.lower() in link_targets:
                        names.add(name)
                if name in names and ep.ip not in found and (
                        ep.container_id == self.container_id or self._active(ep.container_id)):
                    found.append(ep.ip)
        return found or None

    def reverse(self, ip: str) -> list[str] | None:
        """Container names for ``ip`` if it belongs to a container on a network shared with this one."""
        mine = {e.network_id for e in self.store.endpoints_of_container(self.container_id)}
        hits = [e for e in self.store.endpoints_of_network_ip(ip) if e.network_id in mine]
        if not hits:
            return None
        rows = self.store.containers([e.container_id for e in hits])
        names = [rows[e.container_id].name for e in hits if e.container_id in rows]
        return list(dict.fromkeys(names)) or None

    def upstreams(self) -> list[str]:
        me = self.store.container(self.container_id)
        return list(me.upstreams) if me else []


def forward(query: bytes, upstreams: list[str], timeout: float = FORWARD_TIMEOUT) -> bytes | None:
    """Send ``query`` to each upstream in turn over UDP; the first answer wins."""
    import ipaddress

    for upstream in upstreams:
        host, port = parse_upstream(upstream)
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        except ValueError:
            continue
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            try:
                s.connect((host, port))
                s.send(query)
                while True:
                    reply = s.recv(65535)
                    if reply[:2] == query[:2]:
                        return reply
            except OSError:
                continue
    return None


class ContainerResolver:
    """UDP and TCP DNS on 127.0.0.11:53 inside ``netns_path``, answering for ``container_id``."""

    def __init__(self, root: Path, container_id: str, netns_path: str, *, port: int = LISTEN_PORT,
                 address: str = LISTEN_ADDR) -> None:
        self.root = Path(root)
        self.container_id = container_id
        self.netns_path = netns_path
        self.address = address
        self.port = port
        self.names = NameTable(self.root, container_id)
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = threading.Event()
        self._forward_slots = threading.BoundedSemaphore(MAX_FORWARDS)

    # ---------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        made: dict[str, object] = {}

        def in_netns() -> None:
            try:
                sc.setns_path(self.netns_path, sc.CLONE_NEWNET)
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                made["udp"], made["tcp"] = udp, tcp
                udp.bind((self.address, self.port))
                tcp.bind((self.address, self.port))
                tcp.listen(64)
            except OSError as exc:
                made["error"] = exc
            # The thread ends here, so its changed netns never serves anything else.

        t = threading.Thread(target=in_netns, name="hoist-dns-setns")
        t.start()
        t.join()
        if "error" in made:
            for key in ("udp", "tcp"):
                sock = made.get(key)
                if isinstance(sock, socket.socket):
                    sock.close()
            raise made["error"]  # type: ignore[misc]
        self._udp, self._tcp = made["udp"], made["tcp"]  # type: ignore[assignment]
        self._udp.setblocking(False)  # type: ignore[union-attr]
        self._tcp.setblocking(False)  # type: ignore[union-attr]
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._serve, name="hoist-dns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        self._thread.join(timeout=5)
        self._thread = None
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._udp = self._tcp = None

    # ------------------------------------------------------------------------------------- serving

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._udp, selectors.EVENT_READ, "udp")  # type: ignore[arg-type]
        sel.register(self._tcp, selectors.EVENT_READ, "tcp")  # type: ignore[arg-type]
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.data == "udp":
                        self._on_udp()
                    elif key.data == "tcp":
                        self._on_tcp()
        finally:
            sel.close()

    def _on_udp(self) -> None:
        assert self._udp is not None
        try:
            msg, peer = self._udp.recvfrom(4096)
        except (BlockingIOError, InterruptedError):
            return
        udp = self._udp

        def reply(data: bytes) -> None:
            try:
                udp.sendto(data, peer)
            except OSError:
                pass

        self.handle(msg, reply)

    def _on_tcp(self) -> None:
        assert self._tcp is not None
        try:
            conn, _ = self._tcp.accept()
        except (BlockingIOError, InterruptedError):
            return
        threading.Thread(target=self._tcp_conn, args=(conn,), daemon=True, name="hoist-dns-tcp").start()

    def _tcp_conn(self, conn: socket.socket) -> None:
        """DNS over TCP: each message is prefixed with its 2-byte length (RFC 1035 4.2.2)."""
        conn.setblocking(True)
        conn.settimeout(10)
        try:
            while not self._stopping.is_set():
                head = _recv_exact(conn, 2)
                if head is None:
                    return
                msg = _recv_exact(conn, struct.unpack("!H", head)[0])
                if msg is None:
                    return

                def reply(data: bytes) -> None:
                    try:
                        conn.sendall(struct.pack("!H", len(data)) + data)
                    except OSError:
                        pass

                self.handle(msg, reply, inline=True)
        except OSError:
            return
        finally:
            conn.close()

    def handle(self, msg: bytes, reply: Callable[[bytes], None], inline: bool = False) -> None:
        """Answer ``msg`` through ``reply``: from the name table, else by forwarding (off-thread for UDP, so
        a slow upstream never stalls local names)."""
        from runtime.network import dns  # on the first query: keeps the codec off every container's start

        try:
            query = dns.parse_query(msg)
        except dns.DNSFormatError:
            err = dns.error_response(msg, dns.RCODE_FORMERR)
            if err:
                reply(err)
            return
        q = query.question
        if query.flags & dns.OPCODE_MASK:
            reply(dns.build_response(query, dns.RCODE_NOTIMP))
            return
        local = None
        if q.qclass == dns.CLASS_IN and q.qtype in (dns.TYPE_A, dns.TYPE_AAAA):
            try:
                local = self.names.lookup(q.name)
            except Exception:  # noqa: BLE001 - a locked or missing database must not kill the server
                reply(dns.build_response(query, dns.RCODE_SERVFAIL))
                return
        elif q.qclass == dns.CLASS_IN and q.qtype == dns.TYPE_PTR:
            ip = dns.reverse_pointer_address(q.name)
            try:
                names = self.names.reverse(ip) if ip else None
            except Exception:  # noqa: BLE001
                names = None
            if names:
                reply(dns.build_ptr_response(query, names, ttl=TTL))
                return
        if local is not None:
            # Known name: NOERROR even when it has no record of the asked type (AAAA for IPv4-only).
            reply(dns.build_response(query, dns.RCODE_NOERROR, local, ttl=TTL))
            return

        def do_forward() -> None:
            try:
                upstreams = self.names.upstreams()
            except Exception:  # noqa: BLE001
                upstreams = []
            answer = forward(msg, upstreams) if upstreams else None
            reply(answer if answer is not None else dns.build_response(query, dns.RCODE_SERVFAIL,
                                                                       authoritative=False))

        if inline:
            do_forward()
        elif self._forward_slots.acquire(blocking=False):
            def run_and_release() -> None:
                try:
                    do_forward()
                finally:
                    self._forward_slots.release()

            threading.Thread(target=run_and_release, daemon=True, name="hoist-dns-fwd").start()


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
