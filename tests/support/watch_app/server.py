"""A tiny HTTP service for the watch tests and benchmark. The Debian test image has only python3-minimal
(no http.server), so it speaks just enough HTTP/1.0 over a socket.

GET /version -> "<VERSION from version.py> <start time>"; GET /cat?path=P -> the file's bytes (404 if absent);
GET /stat?path=P -> "uid:gid". Port from $PORT, on 127.0.0.1.
"""
import os
import socket
import time
from urllib.parse import parse_qs, urlparse

from version import VERSION

STARTED = repr(time.time())


def answer(target):
    url = urlparse(target)
    path = parse_qs(url.query).get("path", [""])[0]
    try:
        if url.path == "/version":
            return 200, f"{VERSION} {STARTED}".encode()
        if url.path == "/cat":
            with open(path, "rb") as f:
                return 200, f.read()
        if url.path == "/stat":
            st = os.stat(path)
            return 200, f"{st.st_uid}:{st.st_gid}".encode()
    except OSError:
        pass
    return 404, b""


def serve():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(os.environ["PORT"])))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(2)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                target = data.split(b" ", 2)[1].decode()
                status, body = answer(target)
                conn.sendall(b"HTTP/1.0 %d X\r\nContent-Length: %d\r\n\r\n" % (status, len(body)) + body)
            except (OSError, IndexError):
                pass


serve()
