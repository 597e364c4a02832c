"""The watch demo's web server (standard library only).

/            static/index.html       (sync: edits show up on the next request)
/api/info    code revision, VERSION, greeting (sync+restart, rebuild, restart)
/messages.json                       (sync+exec: rebuilt by build_index.py inside the container)
"""

import json
import signal
import sys
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from build_index import build_index

HERE = Path(__file__).resolve().parent
CODE_REVISION = 1  # edit me: `sync+restart` copies server.py into the container and restarts it
VERSION = (HERE / "VERSION").read_text().strip()  # baked into the image: `rebuild`
GREETING_FILE = Path("/config/greeting.txt")  # bind-mounted, read once at start-up: `restart`
GREETING = GREETING_FILE.read_text().strip() if GREETING_FILE.exists() else "Hello"
STARTED = time.time()


class Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, directory=str(HERE / "static"), **kwargs)

    def do_GET(self) -> None:
        if self.path == "/api/info":
            info = {"code_revision": CODE_REVISION, "version": VERSION, "greeting": GREETING,
                    "uptime_seconds": round(time.time() - STARTED, 1)}
            data = (json.dumps(info) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()

    def end_headers(self) -> None:
        # Synced files must show up on the very next request.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        if "/api/info" not in self.requestline:  # the healthcheck's path
            print(f"web: {format % args}", flush=True)


if __name__ == "__main__":
    # As PID 1 the default action for SIGTERM is to ignore it; exit promptly so restarts are quick.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    build_index()
    print(f"web: revision {CODE_REVISION}, version {VERSION}, greeting {GREETING!r}, listening on :8000",
          flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
