"""A throw-away Docker registry (Debian's ``docker-registry``, distribution 2.8) on 127.0.0.1 for tests.

Plain HTTP, or HTTPS with a self-signed certificate (openssl) and htpasswd basic auth (bcrypt, from
apache2-utils' htpasswd). Storage lives in the server's own temp dir, so a test can tamper with a blob's data
file on disk. The process runs in its own session with a minimal environment (no HOIST_ROOT), so the hoist
leak checker does not mistake it for something a test root left behind; ``stop`` kills it, bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_BINARY = "/usr/bin/docker-registry"
TEST_USER = "hoist"
TEST_PASSWORD = "s3cret-pw"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RegistryServer:
    tls: bool = False
    user: str | None = None
    password: str | None = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hoist-registry-")))
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        """The registry part of image references: ``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    @property
    def cert(self) -> Path:
        return self.workdir / "cert.pem"

    @property
    def storage(self) -> Path:
        return self.workdir / "storage"

    def blob_data(self, digest: str) -> Path:
        hexpart = digest.partition(":")[2]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def start(self, timeout: float = 20.0) -> RegistryServer:
        if not os.access(REGISTRY_BINARY, os.X_OK):
            raise RuntimeError(f"{REGISTRY_BINARY} is missing: run scripts/setup.sh (package docker-registry)")
        self.storage.mkdir(parents=True, exist_ok=True)
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.storage}", "  delete:",
                 "    enabled: true", "http:", "  addr: 127.0.0.1:{port}"]
        if self.tls:
            self._make_certificate()
            lines += ["  tls:", f"    certificate: {self.cert}", f"    key: {self.workdir / 'key.pem'}"]
        if self.user:
            self._make_htpasswd()
            lines += ["auth:", "  htpasswd:", "    realm: hoist-test", f"    path: {self.workdir / 'htpasswd'}"]
        log = open(self.workdir / "registry.log", "ab")
        for _attempt in range(5):  # a free port can be taken between probing and binding: retry
            self.port = _free_port()
            config = self.workdir / "config.yml"
            config.write_text("\n".join(lines).replace("{port}", str(self.port)) + "\n")
            self.process = subprocess.Popen(
                [REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, start_new_session=True, cwd=self.workdir)
            if self._wait_listening(timeout):
                log.close()
                return self
            self.stop(remove=False)
        log.close()
        raise RuntimeError(f"docker-registry did not start: {(self.workdir / 'registry.log').read_text()[-2000:]}")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def _make_certificate(self) -> None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=hoist-test-registry",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.workdir / "key.pem"), "-out", str(self.cert)],
            check=True, capture_output=True)

    def _make_htpasswd(self) -> None:
        out = subprocess.run(["htpasswd", "-Bbn", self.user or "", self.password or ""], check=True,
                             capture_output=True, text=True).stdout
        (self.workdir / "htpasswd").write_text(out)

    def stop(self, *, remove: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)
