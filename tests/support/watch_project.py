"""A watch-mode project on disk (the Python HTTP service of tests/support/watch_app) and a `hoist watch`
process whose output is collected line by line (shared by tests/e2e/test_watch.py and the benchmark)."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parent / "watch_app"

DOCKERFILE = """FROM {image}
COPY requirements.txt /app/requirements.txt
RUN ! grep -q broken /app/requirements.txt
COPY app /app
COPY hooks /hooks
WORKDIR /app
CMD ["python3", "-B", "server.py"]
"""

COMPOSE = """services:
  web:
    build: .
    network_mode: host
    init: true
    user: "1000:1000"
    stop_grace_period: 1s
    environment: {{PORT: "{port}"}}
    develop:
      watch:
        - path: ./app
          action: sync+restart
          target: /app
          ignore: ["*.log"]
        - path: ./app/static
          action: sync
          target: /app/static
        - path: ./hooks
          action: sync+exec
          target: /hooks
          exec:
            command: sh -c 'cat /hooks/msg > /tmp/exec-ran'
        - path: ./requirements.txt
          action: rebuild
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_project(workdir: Path, image: str, port: int) -> None:
    (workdir / "app" / "static").mkdir(parents=True)
    for name in ("server.py", "version.py"):
        shutil.copy(APP / name, workdir / "app" / name)
    (workdir / "app" / "static" / "keep.txt").write_text("keep\n")
    (workdir / "hooks").mkdir()
    (workdir / "hooks" / "msg").write_text("initial\n")
    (workdir / "requirements.txt").write_text("flask==1\n")
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(image=image))
    (workdir / "compose.yaml").write_text(COMPOSE.format(port=port))


def get(port: int, path: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of a GET; (0, "") when nothing answers, or the answer is cut short (the server being
    replaced mid-response, as a recreate does)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        conn.close()
        return resp.status, body
    except (OSError, http.client.HTTPException):
        return 0, ""


class WatchProcess:
    """``hoist watch`` (or any long-running hoist command) with its output lines kept as they arrive."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._read, args=(s,), daemon=True)
                         for s in (proc.stdout, proc.stderr)]
        for t in self._readers:
            t.start()

    def _read(self, stream: object) -> None:
        for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def count(self, needle: str) -> int:
        with self._lock:
            return sum(needle in line for line in self.lines)

    def wait_line(self, needle: str, timeout: float = 60.0, after: int = 0) -> str:
        """The first line containing ``needle`` (among those after the first ``after`` lines)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for line in self.lines[after:]:
                    if needle in line:
                        return line
            if self.proc.poll() is not None and time.monotonic() > deadline - timeout + 0.5:
                raise AssertionError(f"hoist exited {self.proc.returncode} before printing {needle!r}:\n"
                                     + self.text())
            if time.monotonic() > deadline:
                raise AssertionError(f"no line with {needle!r} within {timeout}s:\n" + self.text())
            time.sleep(0.02)

    def mark(self) -> int:
        with self._lock:
            return len(self.lines)

    def interrupt(self, timeout: float = 20.0) -> int:
        """SIGINT, then the exit code; fails if the process (or anything in its session) lingers."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(5.0)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


def session_alive(pgid: int) -> bool:
    """Is any process of the process group ``pgid`` (a start_new_session child's) still there?"""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
