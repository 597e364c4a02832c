"""The conformance-tests helper, rewritten for hoist's tests. It runs in the Debian test image, whose
python3-minimal has sockets and threads but no http package: so a tiny HTTP/1.0 server and client here.

`server` mode: HTTP on :8080 — /ping (or /ping?address=HOST:PORT/PATH to fetch another server),
/volumefile?filename=NAME (reads /volumes/NAME), /udp (the last datagram received on UDP :10001, which
is also echoed back), /register?id=ID and /scalechecker (how many distinct clients registered).
`client` mode: registers its hostname with http://server:8080 every half second.
"""

import os
import signal
import socket
import sys
import threading
import time
import urllib.parse

CLIENTS: set[str] = set()
LAST_UDP = [b""]


def http_get(address: str, timeout: float = 3.0) -> str:
    """GET http://<address> (host:port/path); the body, or raises OSError."""
    hostport, _, path = address.partition("/")
    host, _, port = hostport.partition(":")
    with socket.create_connection((host, int(port or 80)), timeout=timeout) as s:
        s.sendall(f"GET /{path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200") and not head.startswith(b"HTTP/1.1 200"):
        raise OSError(f"bad reply from {address}")
    return body.decode()


def answer(target: str) -> str | None:
    url = urllib.parse.urlparse(target)
    query = dict(urllib.parse.parse_qsl(url.query))
    if url.path == "/ping":
        address = query.get("address")
        if not address:
            return "PONG FROM TARGET"
        try:
            return http_get(address)
        except (OSError, ValueError):
            return f"Could not reach address: {address}"
    if url.path == "/volumefile":
        try:
            with open(os.path.join("/volumes", os.path.basename(query.get("filename", "")))) as f:
                return f.read().strip()
        except OSError as exc:
            return f"Could not read file: {exc}"
    if url.path == "/udp":
        return LAST_UDP[0].decode(errors="replace")
    if url.path == "/register":
        CLIENTS.add(query.get("id", ""))
        return "OK"
    if url.path == "/scalechecker":
        return str(len(CLIENTS))
    return None


def handle(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(5)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        parts = request.split(b"\r\n", 1)[0].decode().split()
        body = answer(parts[1]) if len(parts) >= 2 and parts[0] == "GET" else None
        if body is None:
            conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        data = body.encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data)


def serve_http() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 8080))
    server.listen(64)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def udp_echo() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 10001))
    while True:
        data, peer = sock.recvfrom(2048)
        LAST_UDP[0] = data
        sock.sendto(data, peer)


def client() -> None:
    me = socket.gethostname()
    while True:
        try:
            http_get(f"server:8080/register?id={me}", timeout=2)
        except (OSError, ValueError):
            pass
        time.sleep(0.5)


def main() -> None:
    # PID 1 ignores signals it does not handle: stop promptly on SIGTERM like a well-behaved server.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if sys.argv[1:] == ["client"]:
        client()
        return
    threading.Thread(target=udp_echo, daemon=True).start()
    serve_http()


if __name__ == "__main__":
    main()
