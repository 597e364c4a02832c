"""A tiny web app that counts its visits in Redis, using only the Python standard library.

Redis speaks RESP, a line protocol simple enough to write by hand: a command is an array of bulk strings,
and INCR answers with an integer line (":42\r\n").
"""

import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIS_HOST = os.environ.get("REDIS_HOST", "redis")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
GREETING = os.environ.get("GREETING", "Hello from hoist!")


def redis_command(*words: str) -> str:
    """Send one command, return the first reply line without its type byte."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as conn:
        conn.sendall(request.encode())
        reply = conn.makefile("rb").readline().decode().rstrip("\r\n")
    if reply.startswith("-"):
        raise RuntimeError(f"redis error: {reply[1:]}")
    return reply[1:]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            ok = redis_command("PING") == "PONG"
            self.reply(200 if ok else 503, "ok\n" if ok else "redis not ready\n")
        elif self.path == "/":
            hits = redis_command("INCR", "hits")
            self.reply(200, f"{GREETING} This page has been viewed {hits} times.\n")
        else:
            self.reply(404, "not found\n")

    def reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        # Health checks poll every second; only log real visits.
        if "/healthz" not in self.requestline:
            print(f"{self.address_string()} {format % args}", flush=True)


if __name__ == "__main__":
    # As PID 1 the default action for SIGTERM is to ignore it; exit promptly so `hoist stop` needs no kill.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("web: listening on :8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
