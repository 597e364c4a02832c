"""The distribution client against a small in-process fake registry: auth flows, digests, uploads."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runtime.errors import RegistryError
from runtime.images.auth import Credentials
from runtime.images.registry import OCI_MANIFEST, RegistryClient

BLOB = b"layer bytes" * 1000
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


@dataclass
class FakeRegistry:
    mode: str = "anonymous"  # anonymous | basic | bearer
    user: str = "alice"
    password: str = "pw"
    blob: bytes = BLOB
    token_requests: list[dict] = field(default_factory=list)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    stored: dict[str, bytes] = field(default_factory=dict)
    port: int = 0
    break_puts: int = 0  # how many of the next blob PUTs to drop without an answer


def make_handler(state: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    basic = "Basic " + base64.b64encode(f"{state.user}:{state.password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def authorized(self) -> bool:
            got = self.headers.get("Authorization", "")
            if state.mode == "anonymous":
                return True
            if state.mode == "basic" and got == basic:
                return True
            if state.mode == "bearer" and got == "Bearer good-token":
                return True
            challenge = ('Basic realm="fake"' if state.mode == "basic" else
                         f'Bearer realm="http://127.0.0.1:{state.port}/token",service="fake"')
            self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                       {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
            return False

        def body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/token":
                query = urllib.parse.parse_qs(url.query)
                state.token_requests.append(query)
                if self.headers.get("Authorization") != basic:
                    return self.reply(401)
                return self.reply(200, json.dumps({"token": "good-token"}).encode())
            if not self.authorized():
                return
            if url.path == "/v2/":
                return self.reply(200, b"{}")
            if url.path.endswith("/manifests/latest") or url.path.endswith(f"/manifests/{MANIFEST_DIGEST}"):
                return self.reply(200, MANIFEST, {"Content-Type": OCI_MANIFEST,
                                                  "Docker-Content-Digest": MANIFEST_DIGEST})
            if url.path.endswith(f"/blobs/{BLOB_DIGEST}"):
                return self.reply(200, state.blob)
            self.reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802
            self.body()
            if not self.authorized():
                return
            uid = str(len(state.uploads))
            state.uploads[uid] = bytearray()
            self.reply(202, headers={"Location": f"http://127.0.0.1:{state.port}/v2/x/blobs/uploads/{uid}"})

        def do_PATCH(self) -> None:  # noqa: N802
            data = self.body()
            if not self.authorized():
                return
            uid = urllib.parse.urlsplit(self.path).path.rsplit("/", 1)[1]
            start = int(self.headers["Content-Range"].split("-")[0])
            assert start == len(state.uploads[uid])
            state.uploads[uid] += data
            self.reply(202, headers={"Location": f"/v2/x/blobs/uploads/{uid}?n={len(state.uploads[uid])}"})

        def do_PUT(self) -> None:  # noqa: N802
            data = self.body()
            if not self.authorized():
                return
            url = urllib.parse.urlsplit(self.path)
            if "/manifests/" in url.path:
                state.stored[url.path] = data
                return self.reply(201, headers={"Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()})
            if state.break_puts:
                state.break_puts -= 1
                self.close_connection = True
                return  # no response at all: the client sees the connection close
            uid = url.path.rsplit("/", 1)[1]
            content = bytes(state.uploads[uid]) + data
            digest = urllib.parse.parse_qs(url.query)["digest"][0]
            if "sha256:" + hashlib.sha256(content).hexdigest() != digest:
                return self.reply(400, b'{"errors":[{"code":"DIGEST_INVALID","message":"digest mismatch"}]}')
            state.stored[digest] = content
            self.reply(201)

    return Handler


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    state = FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def client(fake: FakeRegistry, credentials: Credentials | None = None) -> RegistryClient:
    return RegistryClient(f"127.0.0.1:{fake.port}", credentials=credentials, timeout=10)


def test_anonymous_manifest_and_verified_blob(fake: FakeRegistry) -> None:
    c = client(fake)
    manifest = c.get_manifest("lib/app", "latest")
    assert manifest.digest == MANIFEST_DIGEST and manifest.media_type == OCI_MANIFEST
    sink = io.BytesIO()
    seen: list[int] = []
    assert c.fetch_blob("lib/app", BLOB_DIGEST, sink, size=len(BLOB), on_bytes=seen.append) == len(BLOB)
    assert sink.getvalue() == BLOB and sum(seen) == len(BLOB)
    assert c.blob_size("lib/app", BLOB_DIGEST) == len(BLOB)
    assert c.blob_size("lib/app", "sha256:" + "0" * 64) is None


def test_tampered_blob_is_refused_naming_the_digest(fake: FakeRegistry) -> None:
    fake.blob = BLOB[:-1] + b"X"
    with pytest.raises(RegistryError, match=f"blob {BLOB_DIGEST} .*failed digest verification"):
        client(fake).fetch_blob("lib/app", BLOB_DIGEST, io.BytesIO())


def test_wrong_size_is_refused(fake: FakeRegistry) -> None:
    with pytest.raises(RegistryError, match="instead of"):
        client(fake).fetch_blob("lib/app", BLOB_DIGEST, io.BytesIO(), size=len(BLOB) - 5)


def test_manifest_by_digest_is_verified(fake: FakeRegistry) -> None:
    other = "sha256:" + "1" * 64
    with pytest.raises(RegistryError, match=f"manifest {other} .*failed digest verification"):
        # The fake serves MANIFEST for "latest" only; ask for it under a wrong digest via the latest path.
        c = client(fake)
        c._request = _redirect_to_latest(c._request)  # type: ignore[method-assign]
        c.get_manifest("lib/app", other)


def _redirect_to_latest(request):  # type: ignore[no-untyped-def]
    def wrapper(method, target, **kw):  # type: ignore[no-untyped-def]
        return request(method, target.rsplit("/", 1)[0] + "/latest", **kw)
    return wrapper


def test_basic_auth(fake: FakeRegistry) -> None:
    fake.mode = "basic"
    assert client(fake, Credentials("alice", "pw")).get_manifest("a/b", "latest").digest == MANIFEST_DIGEST
    with pytest.raises(RegistryError, match="HTTP 401") as info:
        client(fake).get_manifest("a/b", "latest")
    assert "hoist login" in str(info.value)


def test_bearer_token_for_the_needed_scope_is_fetched_once(fake: FakeRegistry) -> None:
    fake.mode = "bearer"
    c = client(fake, Credentials("alice", "pw"))
    c.get_manifest("team/app", "latest")
    c.fetch_blob("team/app", BLOB_DIGEST, io.BytesIO())
    assert len(fake.token_requests) == 1
    assert fake.token_requests[0] == {"service": ["fake"], "scope": ["repository:team/app:pull"]}
    # Push needs another scope, hence one more token.
    c.put_manifest("team/app", "v1", MANIFEST, OCI_MANIFEST)
    assert fake.token_requests[1]["scope"] == ["repository:team/app:pull,push"]


def test_bearer_with_wrong_password_says_so(fake: FakeRegistry) -> None:
    fake.mode = "bearer"
    with pytest.raises(RegistryError, match="refused the credentials"):
        client(fake, Credentials("alice", "nope")).get_manifest("a/b", "latest")


@pytest.mark.parametrize("chunk_size", [1 << 20, 4000])  # monolithic PUT, then PATCH chunks + PUT
def test_upload(fake: FakeRegistry, chunk_size: int) -> None:
    c = client(fake)
    sent: list[int] = []
    c.upload_blob("x", BLOB_DIGEST, len(BLOB), io.BytesIO(BLOB), chunk_size=chunk_size, on_bytes=sent.append)
    assert fake.stored[BLOB_DIGEST] == BLOB and sum(sent) == len(BLOB)
    assert len(sent) == (1 if chunk_size > len(BLOB) else -(-len(BLOB) // chunk_size))


def test_unreachable_registry_is_a_registry_error() -> None:
    with pytest.raises(RegistryError, match="cannot"):
        RegistryClient("127.0.0.1:1", timeout=2).get_manifest("a", "latest")


def test_push_retries_a_dropped_upload(fake: FakeRegistry, tmp_path, monkeypatch) -> None:
    import gzip
    import tarfile

    import runtime.images.push as push_module
    from runtime.images.store import ImageStore

    monkeypatch.setattr(push_module, "RETRY_PAUSE", 0.01)
    monkeypatch.setattr(push_module, "MAX_CONCURRENT_UPLOADS", 1)  # the layer's PUT is the first one
    store = ImageStore(tmp_path)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("f")
        info.size = 3
        t.addfile(info, io.BytesIO(b"abc"))
    _, layer = store.commit_layer(io.BytesIO(gzip.compress(tar.getvalue())))
    ref = f"127.0.0.1:{fake.port}/x/app:1"
    image = store.write_image({"config": {}}, [layer], ref)
    fake.break_puts = 2  # the transport reconnects once by itself; the second drop reaches push's retry
    events = []
    result = push_module.push_image(store, ref, progress=events.append)
    assert fake.stored[layer] == store.blobs.read_bytes(layer)
    assert fake.stored[image.id] == store.blobs.read_bytes(image.id)
    assert any(e.status.startswith("Retrying in") for e in events)
    assert result.digest == "sha256:" + hashlib.sha256(fake.stored["/v2/x/app/manifests/1"]).hexdigest()


@pytest.mark.parametrize("mode", ["basic", "bearer"])
def test_check_login(fake: FakeRegistry, mode: str) -> None:
    fake.mode = mode
    client(fake, Credentials("alice", "pw")).check_login()
    with pytest.raises(RegistryError, match="incorrect username or password|refused the credentials"):
        client(fake, Credentials("alice", "wrong")).check_login()
    with pytest.raises(RegistryError, match="requires a user name and password"):
        client(fake).check_login()


def test_check_login_on_an_open_registry_passes(fake: FakeRegistry) -> None:
    client(fake, Credentials("anyone", "x")).check_login()
