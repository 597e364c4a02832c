"""pull_image against an in-process static registry: network failures are retried, digest errors are not."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import runtime.images.pull as pull_module
from runtime.errors import RegistryError
from runtime.images.registry import OCI_MANIFEST
from runtime.images.store import ImageStore


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _image() -> tuple[dict[str, bytes], str]:
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        data = b"hello from the layer\n" * 5000
        info = tarfile.TarInfo("greeting")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    layer = gzip.compress(tar.getvalue())
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [_digest(tar.getvalue())]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": _digest(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": _digest(layer), "size": len(layer)}]}).encode()
    blobs = {_digest(layer): layer, _digest(config): config}
    return {"manifest": manifest, **blobs}, _digest(layer)


class StaticRegistry:
    def __init__(self) -> None:
        self.content, self.layer_digest = _image()
        self.cut_next = 0  # how many of the next layer downloads to break off half-way
        self.layer_requests = 0
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/v2/":
                    body = b"{}"
                elif "/manifests/" in self.path:
                    body = state.content["manifest"]
                elif "/blobs/" in self.path and self.path.rsplit("/", 1)[1] in state.content:
                    body = state.content[self.path.rsplit("/", 1)[1]]
                    if self.path.endswith(state.layer_digest):
                        state.layer_requests += 1
                        if state.cut_next:
                            state.cut_next -= 1
                            self.send_response(200)
                            self.send_header("Content-Length", str(len(body)))
                            self.end_headers()
                            self.wfile.write(body[: len(body) // 2])
                            self.close_connection = True
                            return
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", OCI_MANIFEST if "/manifests/" in self.path else "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def static_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[StaticRegistry]:
    monkeypatch.setattr(pull_module, "RETRY_PAUSE", 0.01)
    reg = StaticRegistry()
    yield reg
    reg.stop()


def test_a_broken_off_download_is_retried(tmp_path: Path, static_registry: StaticRegistry) -> None:
    static_registry.cut_next = 1
    events = []
    info = pull_module.pull_image(ImageStore(tmp_path), f"{static_registry.host}/x/y:1", progress=events.append)
    assert static_registry.layer_requests == 2
    assert any(e.status.startswith("Retrying in") for e in events)
    [layer_dir] = ImageStore(tmp_path).rootfs_layers(info.id)
    assert (layer_dir / "greeting").read_bytes().startswith(b"hello from the layer\n")


def test_retries_are_bounded_and_leave_nothing(tmp_path: Path, static_registry: StaticRegistry) -> None:
    static_registry.cut_next = pull_module.DOWNLOAD_ATTEMPTS
    with pytest.raises(RegistryError, match=f"download of blob {static_registry.layer_digest}"):
        pull_module.pull_image(ImageStore(tmp_path), f"{static_registry.host}/x/y:1")
    assert static_registry.layer_requests == pull_module.DOWNLOAD_ATTEMPTS
    assert not (tmp_path / "images" / "images.json").exists()
    assert not any((tmp_path / "images").rglob("blob-*")) and not any((tmp_path / "images").rglob("download-*"))
    assert not (tmp_path / "images" / "blobs").exists() or not any((tmp_path / "images" / "blobs").rglob("*"))


def test_a_digest_mismatch_is_not_retried(tmp_path: Path, static_registry: StaticRegistry) -> None:
    layer = static_registry.content[static_registry.layer_digest]
    static_registry.content[static_registry.layer_digest] = layer[:-1] + bytes([layer[-1] ^ 1])
    with pytest.raises(RegistryError, match="failed digest verification"):
        pull_module.pull_image(ImageStore(tmp_path), f"{static_registry.host}/x/y:1")
    assert static_registry.layer_requests == 1
