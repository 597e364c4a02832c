"""A client for the OCI distribution API (``/v2/``): manifests and blobs, pull and push, with auth and TLS.

One :class:`RegistryClient` talks to one registry host. It

- chooses the transport as Docker does: HTTPS, verified against the system CAs plus any CA the user gave
  (``ca_file``, ``$REQUESTS_CA_BUNDLE``/``$SSL_CERT_FILE``, ``<root>/certs.d/<host>/*.crt`` like Docker's
  certs.d, with ``client.cert``/``client.key`` for mutual TLS); loopback registries (localhost, 127.0.0.0/8,
  ::1) are "insecure" as in Docker: HTTPS is tried first without certificate checks (unless a CA was
  configured for the host, which is then enforced) and plain HTTP is used when the server does not speak TLS;
- answers the ``WWW-Authenticate`` challenge of the ``/v2/`` ping: anonymous, HTTP basic, or a bearer token
  fetched from the challenge's realm for the scopes a request needs (cached per scope set, refreshed on 401);
- verifies every blob it downloads against its digest while streaming it, and refuses a mismatch with a
  :class:`runtime.errors.RegistryError` naming the digest.

Requests reuse one keep-alive connection per thread (layer downloads run in a thread pool).
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import ipaddress
import json
import os
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from runtime.errors import RegistryError
from runtime.images.auth import Challenge, Credentials, parse_challenges
from runtime.images.blobs import ForwardReader

# ----------------------------------------------------------------------------------------- media types

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_MANIFEST_LIST, OCI_INDEX)
ACCEPT_MANIFESTS = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

DOCKER_HUB = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 4 << 20  # the distribution spec lets registries refuse bigger ones; so do we
USER_AGENT = "hoist/0.1 (+oci-distribution)"


class TransferInterrupted(RegistryError):
    """The network failed mid-way (connection refused, reset, timed out): worth a retry, unlike a 4xx or a
    digest mismatch."""


def api_host(registry: str) -> str:
    """The host[:port] serving a registry's API (Docker Hub's names differ from its API host)."""
    return DOCKER_HUB_API_HOST if registry in (DOCKER_HUB, "index.docker.io") else registry


def is_loopback(registry: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1, with or without a port: Docker's default insecure registries."""
    host = registry
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def manifest_path(repository: str, reference: str) -> str:
    return f"/v2/{repository}/manifests/{urllib.parse.quote(reference, safe=':@')}"


def blob_path(repository: str, digest: str) -> str:
    return f"/v2/{repository}/blobs/{digest}"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def new_hasher(digest: str):  # -> hashlib._Hash
    algorithm, _, hexpart = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or not hexpart:
        raise RegistryError(f"unsupported digest {digest!r}", hint="only sha256 and sha512 digests exist in OCI")
    return hashlib.new(algorithm)


# ----------------------------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TLSConfig:
    """Where custom certificates come from. ``certs_dir`` is laid out as Docker's /etc/docker/certs.d."""

    ca_file: Path | None = None
    certs_dirs: tuple[Path, ...] = ()

    def host_files(self, registry: str) -> tuple[list[Path], list[tuple[Path, Path]]]:
        """CA files and (cert, key) client pairs configured for ``registry``."""
        cas: list[Path] = []
        pairs: list[tuple[Path, Path]] = []
        for base in self.certs_dirs:
            folder = base / registry
            if not folder.is_dir():
                continue
            for entry in sorted(folder.iterdir()):
                if entry.suffix == ".crt":
                    cas.append(entry)
                elif entry.suffix == ".cert" and entry.with_suffix(".key").exists():
                    pairs.append((entry, entry.with_suffix(".key")))
        return cas, pairs

    def custom_cas(self, registry: str) -> list[Path]:
        cas = [self.ca_file] if self.ca_file else []
        for var in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
            if os.environ.get(var):
                cas.append(Path(os.environ[var]))
        return cas + self.host_files(registry)[0]

    def context(self, registry: str, *, verify: bool) -> ssl.SSLContext:
        """An SSL context for ``registry``. ``verify`` False (loopback) still verifies when a CA was configured
        for this registry in particular (``ca_file`` or certs.d): general bundles from the environment such
        as $SSL_CERT_FILE are trusted but do not turn checking on."""
        host_specific = ([self.ca_file] if self.ca_file else []) + self.host_files(registry)[0]
        pairs = tuple((str(c), str(k)) for c, k in self.host_files(registry)[1])
        if not verify and not host_specific:
            # Loading the system CA bundle costs ~0.1 s; an unverified context needs none of it.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            for cert, key in pairs:
                ctx.load_cert_chain(cert, key)
            return ctx
        return _verifying_context(tuple(str(p) for p in self.custom_cas(registry)), pairs)


@functools.lru_cache(maxsize=16)
def _verifying_context(cas: tuple[str, ...], client_pairs: tuple[tuple[str, str], ...]) -> ssl.SSLContext:
    """The system CAs plus ``cas`` (and client certificates); cached per process: loading a bundle is slow."""
    ctx = ssl.create_default_context()
    defaults = ssl.get_default_verify_paths()
    loaded = {os.path.realpath(p) for p in (defaults.cafile, defaults.openssl_cafile) if p}
    for ca in cas:
        if os.path.realpath(ca) in loaded:
            continue  # $SSL_CERT_FILE / $REQUESTS_CA_BUNDLE often name the system bundle itself
        loaded.add(os.path.realpath(ca))
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise RegistryError(f"cannot load the CA certificate {ca}: {exc}",
                                hint="give a PEM file with the registry's CA certificate") from exc
    for cert, key in client_pairs:
        ctx.load_cert_chain(cert, key)
    return ctx


# ---------------------------------------------------------------------------------------------- replies


@dataclass
class Manifest:
    data: bytes
    media_type: str
    digest: str

    def json(self) -> dict:
        try:
            doc = json.loads(self.data)
        except ValueError as exc:
            raise RegistryError(f"manifest {self.digest} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise RegistryError(f"manifest {self.digest} is not a JSON object")
        return doc


@dataclass
class _Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes = b""
    response: http.client.HTTPResponse | None = None  # set while streaming; the body is unread

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default) or default


@dataclass
class _Session:
    scheme: str
    ssl_context: ssl.SSLContext | None
    challenge: Challenge | None = None
    tokens: dict[tuple[str, ...], str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- client


class RegistryClient:
    """The distribution API of one registry (``registry`` is the host[:port] of an image reference)."""

    def __init__(self, registry: str, *, credentials: Credentials | None = None,
                 tls: TLSConfig | None = None, timeout: float = 60.0) -> None:
        self.registry = registry
        self.host = api_host(registry)
        self.credentials = credentials
        self.tls = tls or TLSConfig()
        self.timeout = timeout
        self._session: _Session | None = None
        self._lock = threading.RLock()  # re-entered: the /v2/ ping runs under it and opens connections
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []  # of every thread, for close()

    # -------------------------------------------------------------------------------- public operations

    def check_login(self) -> None:
        """Prove the credentials work (``docker login``): /v2/ with basic auth, or a token for no scope."""
        session = self._ensure_session()
        if session.challenge is None:
            return  # the registry lets anyone in; Docker stores the credentials all the same
        if self.credentials is None:
            raise RegistryError(f"{self.registry} requires a user name and password",
                                hint="pass -u USER and --password-stdin")
        reply = self._send(session, "GET", "/v2/", {"Authorization": self._authorization(session, ()) or ""},
                           None, stream=False)
        if reply.status == 401:
            raise RegistryError(f"login to {self.registry} failed: unauthorized: incorrect username or password",
                                hint="check the user name and password")
        if reply.status >= 400:
            raise self._error(reply, "login")

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """Fetch a manifest or index by tag or digest; a digest reference is verified against the bytes."""
        reply = self._request("GET", manifest_path(repository, reference), scopes=[(repository, "pull")],
                              headers={"Accept": ACCEPT_MANIFESTS}, what=f"manifest {repository}:{reference}")
        if len(reply.body) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"the manifest of {self.registry}/{repository}:{reference} is too large")
        media_type = reply.header("Content-Type").split(";")[0].strip()
        actual = digest_of(reply.body)
        if reference.startswith("sha256:") and actual != reference:
            raise RegistryError(
                f"manifest {reference} from {self.registry}/{repository} failed digest verification: "
                f"its content hashes to {actual}",
                hint="the registry returned different content than the digest names; do not trust it")
        manifest = Manifest(reply.body, media_type, actual)
        declared = manifest.json().get("mediaType")
        if declared:
            manifest.media_type = str(declared)
        return manifest

    def list_tags(self, repository: str) -> list[str]:
        """Every tag of a repository (``/tags/list``, following the ``Link`` header's pages)."""
        tags: list[str] = []
        target: str | None = f"/v2/{repository}/tags/list?n=1000"
        while target:
            reply = self._request("GET", target, scopes=[(repository, "pull")], what=f"tags of {repository}")
            try:
                tags += [str(t) for t in json.loads(reply.body).get("tags") or []]
            except (ValueError, AttributeError) as exc:
                raise RegistryError(f"{self.registry} sent an invalid tag list for {repository}") from exc
            link = reply.header("Link")
            target = link.split(";", 1)[0].strip().strip("<>") if 'rel="next"' in link else None
        return tags

    def blob_size(self, repository: str, digest: str) -> int | None:
        """HEAD a blob: its size when the registry has it, None otherwise."""
        reply = self._request("HEAD", blob_path(repository, digest), scopes=[(repository, "pull")],
                              ok=(200, 404), what=f"blob {digest}")
        if reply.status == 404:
            return None
        return int(reply.header("Content-Length", "0") or 0)

    def fetch_blob(self, repository: str, digest: str, sink: BinaryIO, *, size: int | None = None,
                   on_bytes: Callable[[int], None] | None = None) -> int:
        """Stream a blob into ``sink``, verifying its digest (and size, when known) on the way.

        Raises RegistryError naming the digest when the content does not match; the caller owns ``sink``
        and must discard what was written.
        """
        with self.open_blob(repository, digest, size=size, on_bytes=on_bytes) as reader:
            while chunk := reader.read(CHUNK):
                sink.write(chunk)
        return reader.received

    def open_blob(self, repository: str, digest: str, *, size: int | None = None,
                  on_bytes: Callable[[int], None] | None = None) -> BlobReader:
        """The blob as a stream read while it arrives (for unpacking a layer during its download).

        The reader hashes what passes; reading its end verifies the digest and size, raising what
        :meth:`fetch_blob` raises. Whoever consumes it must treat everything read as unverified until
        then. Close it (a ``with`` block) when done or abandoned.
        """
        reply = self._request("GET", blob_path(repository, digest), scopes=[(repository, "pull")],
                              stream=True, what=f"blob {digest}")
        assert reply.response is not None
        return BlobReader(self, repository, digest, reply.response, size, on_bytes)

    def mount_blob(self, repository: str, digest: str, source: str) -> tuple[bool, str | None]:
        """Ask for a cross-repository mount; (True, None) when mounted, else (False, upload location)."""
        query = urllib.parse.urlencode({"mount": digest, "from": source})
        reply = self._request("POST", f"/v2/{repository}/blobs/uploads/?{query}",
                              scopes=[(repository, "pull,push"), (source, "pull")], ok=(201, 202),
                              what=f"mount of blob {digest}")
        if reply.status == 201:
            return True, None
        return False, reply.header("Location") or None

    def upload_blob(self, repository: str, digest: str, size: int, reader: BinaryIO, *,
                    location: str | None = None, chunk_size: int = 16 << 20,
                    on_bytes: Callable[[int], None] | None = None) -> None:
        """Upload a blob: one monolithic PUT when it fits in ``chunk_size``, else PATCH chunks and a PUT."""
        scopes = [(repository, "pull,push")]
        if location is None:
            reply = self._request("POST", f"/v2/{repository}/blobs/uploads/", scopes=scopes, ok=(202,),
                                  what=f"upload of blob {digest}")
            location = reply.header("Location")
            if not location:
                raise RegistryError(f"{self.registry} started an upload without a Location header")
        if size <= chunk_size:
            body = reader.read()
            self._request("PUT", _with_query(location, digest=digest), scopes=scopes, body=body,
                          headers={"Content-Type": "application/octet-stream"}, ok=(201,),
                          what=f"upload of blob {digest}")
            if on_bytes:
                on_bytes(len(body))
            return
        offset = 0
        while offset < size:
            body = reader.read(chunk_size)
            if not body:
                raise RegistryError(f"blob {digest} is shorter than its recorded size {size}")
            reply = self._request(
                "PATCH", location, scopes=scopes, body=body, ok=(202,), what=f"upload of blob {digest}",
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + len(body) - 1}"})
            location = reply.header("Location") or location
            offset += len(body)
            if on_bytes:
                on_bytes(len(body))
        self._request("PUT", _with_query(location, digest=digest), scopes=scopes, body=b"", ok=(201,),
                      what=f"upload of blob {digest}")

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """Store a manifest under a tag or digest; returns its digest."""
        reply = self._request("PUT", manifest_path(repository, reference), scopes=[(repository, "pull,push")],
                              body=data, headers={"Content-Type": media_type}, ok=(201, 200),
                              what=f"manifest {repository}:{reference}")
        return reply.header("Docker-Content-Digest") or digest_of(data)

    # -------------------------------------------------------------------------------------- transport

    def _ensure_session(self) -> _Session:
        with self._lock:
            if self._session is None:
                self._session = self._ping()
            return self._session

    def _ping(self) -> _Session:
        """GET /v2/ to learn the scheme and the authentication the registry wants."""
        candidates: list[_Session] = []
        if is_loopback(self.registry):
            candidates.append(_Session("https", self.tls.context(self.registry, verify=False)))
            candidates.append(_Session("http", None))
        else:
            candidates.append(_Session("https", self.tls.context(self.registry, verify=True)))
        last_error: Exception | None = None
        for session in candidates:
            try:
                reply = self._send(session, "GET", "/v2/", {}, None, stream=False)
            except ssl.SSLCertVerificationError as exc:
                raise RegistryError(
                    f"the TLS certificate of {self.registry} cannot be verified: {exc.verify_message}",
                    hint=f"put the registry's CA certificate in <root>/certs.d/{self.registry}/ca.crt, "
                    "or pass it with --ca-file / $REQUESTS_CA_BUNDLE") from exc
            except (ssl.SSLError, ConnectionResetError, http.client.BadStatusLine,
                    http.client.RemoteDisconnected) as exc:
                last_error = exc  # not a TLS server: try the next transport
                self._drop_connection()
                continue
            except (OSError, http.client.HTTPException) as exc:
                raise TransferInterrupted(f"cannot reach the registry {self.registry}: {exc}",
                                    hint="check the registry address and that it is running") from exc
            if reply.status == 401:
                session.challenge = _pick_challenge(reply.header("WWW-Authenticate"))
            elif reply.status >= 400 and reply.status != 404:
                raise RegistryError(f"the registry {self.registry} answered /v2/ with HTTP {reply.status}",
                                    hint="is this an OCI distribution (v2) registry?")
            return session
        raise RegistryError(f"cannot talk to the registry {self.registry}: {last_error}",
                            hint="check the registry address and its TLS set-up")

    def _connection(self, session: _Session, netloc: str) -> http.client.HTTPConnection:
        pool: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        key = (session.scheme, netloc)
        conn = pool.get(key)
        if conn is None:
            if session.scheme == "https":
                conn = http.client.HTTPSConnection(netloc, timeout=self.timeout, context=session.ssl_context)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=self.timeout)
            pool[key] = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _drop_connection(self) -> None:
        pool = self._local.__dict__.get("pool", {})
        for conn in pool.values():
            conn.close()
        pool.clear()

    def close(self) -> None:
        """Close the connections of every thread (download threads have ended by then)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._drop_connection()

    def _send(self, session: _Session, method: str, target: str, headers: dict[str, str],
              body: bytes | None, *, stream: bool) -> _Reply:
        """One HTTP exchange; ``target`` is a path on this registry or an absolute URL (redirect, upload)."""
        scheme, netloc = session.scheme, self.host
        path = target
        if "://" in target:
            parts = urllib.parse.urlsplit(target)
            scheme, netloc = parts.scheme, parts.netloc
            path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        sess = session if scheme == session.scheme else _Session(scheme, ssl.create_default_context())
        all_headers = {"User-Agent": USER_AGENT, "Host": netloc, **headers}
        if body is not None:
            all_headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            conn = self._connection(sess, netloc)
            try:
                conn.request(method, path, body=body, headers=all_headers)
                response = conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady):
                # A kept-alive connection the server closed in the meantime: reconnect once.
                conn.close()
                self._local.__dict__.get("pool", {}).pop((sess.scheme, netloc), None)
                if attempt == 2:
                    raise
            except OSError:
                conn.close()
                self._local.__dict__.get("pool", {}).pop((sess.scheme, netloc), None)
                raise
        if stream and 200 <= response.status < 300:
            return _Reply(response.status, response.headers, response=response)
        data = response.read() if method != "HEAD" else b""
        if method == "HEAD":
            response.read()
        return _Reply(response.status, response.headers, data)

    def _request(self, method: str, target: str, *, scopes: Iterable[tuple[str, str]],
                 headers: dict[str, str] | None = None, body: bytes | None = None, stream: bool = False,
                 ok: tuple[int, ...] = (200,), what: str = "") -> _Reply:
        session = self._ensure_session()
        scope_key = tuple(sorted(f"repository:{repo}:{actions}" for repo, actions in scopes))
        retried_auth = False
        redirects = 0
        while True:
            req_headers = dict(headers or {})
            auth = self._authorization(session, scope_key)
            # Credentials go only to the registry itself, never to a redirect target elsewhere (a CDN).
            if auth and ("://" not in target or urllib.parse.urlsplit(target).netloc == self.host):
                req_headers["Authorization"] = auth
            try:
                reply = self._send(session, method, target, req_headers, body, stream=stream)
            except (OSError, http.client.HTTPException) as exc:
                raise TransferInterrupted(f"request to {self.registry} failed ({what or target}): {exc}",
                                    hint="check the network and that the registry is running") from exc
            if reply.status == 401 and not retried_auth:
                retried_auth = True
                challenge = _pick_challenge(reply.header("WWW-Authenticate"))
                if challenge is not None:
                    with self._lock:
                        session.challenge = challenge
                        session.tokens.pop(scope_key, None)
                    continue
            if reply.status in (301, 302, 303, 307, 308) and redirects < 5:
                redirects += 1
                location = reply.header("Location")
                if reply.response is not None:
                    reply.response.read()
                target = urllib.parse.urljoin(f"{session.scheme}://{self.host}{_path_only(target)}", location)
                if reply.status == 303:
                    method, body = "GET", None
                continue
            if reply.status in ok:
                return reply
            raise self._error(reply, what or target)

    def _authorization(self, session: _Session, scope_key: tuple[str, ...]) -> str | None:
        challenge = session.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return self.credentials.basic_header() if self.credentials else None
        if challenge.scheme == "bearer":
            with self._lock:
                token = session.tokens.get(scope_key)
            if token is None:
                token = self._fetch_token(challenge, scope_key)
                with self._lock:
                    session.tokens[scope_key] = token
            return f"Bearer {token}" if token else None
        return None

    def _fetch_token(self, challenge: Challenge, scope_key: tuple[str, ...]) -> str:
        """GET the challenge's realm for a token covering ``scope_key`` (the docker token protocol)."""
        realm = challenge.realm
        if not realm:
            raise RegistryError(f"{self.registry} asked for a bearer token without a realm")
        query: list[tuple[str, str]] = []
        if challenge.params.get("service"):
            query.append(("service", challenge.params["service"]))
        scopes = list(scope_key) or ([challenge.params["scope"]] if challenge.params.get("scope") else [])
        query += [("scope", s) for s in scopes]
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(query)
        parts = urllib.parse.urlsplit(url)
        headers = {"Accept": "application/json"}
        if self.credentials:
            headers["Authorization"] = self.credentials.basic_header()
        ctx = self.tls.context(parts.netloc, verify=not is_loopback(parts.netloc)) \
            if parts.scheme == "https" else None
        session = _Session(parts.scheme, ctx)
        try:
            reply = self._send(session, "GET", url, headers, None, stream=False)
        except (OSError, http.client.HTTPException) as exc:
            raise TransferInterrupted(f"cannot reach the token service {parts.netloc} of {self.registry}: {exc}",
                                hint="check the network") from exc
        if reply.status in (401, 403):
            raise RegistryError(f"the token service of {self.registry} refused the credentials "
                                f"(HTTP {reply.status})",
                                hint=f"run 'hoist login {self.registry}' with a valid user and password")
        if reply.status != 200:
            raise RegistryError(f"the token service of {self.registry} answered HTTP {reply.status}")
        try:
            doc = json.loads(reply.body)
        except ValueError as exc:
            raise RegistryError(f"the token service of {self.registry} sent invalid JSON") from exc
        token = doc.get("token") or doc.get("access_token")
        if not token:
            raise RegistryError(f"the token service of {self.registry} sent no token")
        return str(token)

    def _error(self, reply: _Reply, what: str) -> RegistryError:
        body = reply.body
        if reply.response is not None:
            body = reply.response.read()
        detail = ""
        try:
            errors = json.loads(body).get("errors") or []
            detail = "; ".join(f"{e.get('code', '').lower()}: {e.get('message', '')}".strip(": ")
                               for e in errors if isinstance(e, dict))
        except (ValueError, AttributeError):
            detail = body[:200].decode(errors="replace").strip()
        status = reply.status
        message = f"{what} on {self.registry}: HTTP {status}" + (f" ({detail})" if detail else "")
        if status == 401:
            return RegistryError(message, hint=f"authentication required: run 'hoist login {self.registry}'")
        if status == 403:
            return RegistryError(message, hint="the credentials in use may not access this repository")
        if status == 404:
            return RegistryError(message, hint="check the image name and tag; private repositories also "
                                 f"answer 404 without 'hoist login {self.registry}'")
        if status == 429:
            return RegistryError(message, hint="the registry rate-limits you; wait, or log in")
        return RegistryError(message)


class BlobReader(ForwardReader):
    """One blob's bytes as they arrive from the registry: hashed on the way, verified at the end.

    ``read`` raises :class:`TransferInterrupted` when the connection fails or closes early, and a
    RegistryError naming the digest when the content (or its size) turns out not to be the blob's: the
    moment that is known, at the end of the stream or past the size the manifest declared.
    """

    def __init__(self, client: RegistryClient, repository: str, digest: str,
                 response: http.client.HTTPResponse, size: int | None,
                 on_bytes: Callable[[int], None] | None) -> None:
        self._client = client
        self._where = f"{client.registry}/{repository}"
        self.digest = digest
        self._response = response
        self._size = size
        self._on_bytes = on_bytes
        self._hasher = new_hasher(digest)
        self.received = 0
        self._verified = False

    def read(self, n: int = -1) -> bytes:
        if self._verified:
            return b""
        try:
            chunk = self._response.read(CHUNK if n is None or n < 0 else n)
        except (OSError, http.client.HTTPException) as exc:
            self._client._drop_connection()
            raise TransferInterrupted(f"download of blob {self.digest} from {self._where} failed: {exc}",
                                      hint="check the network and retry the pull") from exc
        if not chunk:
            self._finish()
            return b""
        self._hasher.update(chunk)
        self.received += len(chunk)
        if self._size is not None and self.received > self._size:
            self._finish()  # more than the manifest declared: refused now, not after reading it all
        if self._on_bytes:
            self._on_bytes(len(chunk))
        return chunk

    def _finish(self) -> None:
        # http.client's read(n) returns b"" when the peer closes early; what the response still
        # expected tells a broken-off transfer (worth a retry) from wrong content.
        missing = self._response.length or 0
        self._response.close()
        if missing > 0 and (self._size is None or self.received <= self._size):
            self._client._drop_connection()
            raise TransferInterrupted(f"download of blob {self.digest} from {self._where} failed: "
                                      f"the connection closed {missing} bytes before the end",
                                      hint="check the network and retry the pull")
        actual = f"{self.digest.partition(':')[0]}:{self._hasher.hexdigest()}"
        size = self._size
        if actual != self.digest or (size is not None and self.received != size):
            self._client._drop_connection()
            raise RegistryError(
                f"blob {self.digest} from {self._where} failed digest verification: "
                + (f"received {self.received} bytes instead of {size}" if size is not None
                   and self.received != size else f"its content hashes to {actual}"),
                hint="the registry's copy is corrupt or was tampered with; nothing of it was stored")
        self._verified = True

    @property
    def closed(self) -> bool:
        return self._response.isclosed()

    def close(self) -> None:
        """Abandon the download (a verified blob is already closed). A response closed before its end
        leaves the connection unusable: it is dropped, the next request opens a new one."""
        if not self._response.isclosed():
            self._response.close()
            self._client._drop_connection()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pick_challenge(header: str) -> Challenge | None:
    """Prefer bearer over basic when a registry offers both (as Docker's client does)."""
    challenges = parse_challenges(header) if header else []
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


def _with_query(location: str, **params: str) -> str:
    sep = "&" if "?" in location else "?"
    return location + sep + urllib.parse.urlencode(params)


def _path_only(target: str) -> str:
    if "://" in target:
        parts = urllib.parse.urlsplit(target)
        return urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
    return target


def client_for(root: Path, registry: str, *, ca_file: Path | None = None,
               timeout: float = 60.0) -> RegistryClient:
    """A client for ``registry`` with the credentials of ``hoist login`` and the certificates configured
    under ``<root>/certs.d/<host>/`` (or Docker's /etc/docker/certs.d/<host>/)."""
    from runtime.images.auth import load_credentials

    tls = TLSConfig(ca_file=ca_file, certs_dirs=(Path(root) / "certs.d", Path("/etc/docker/certs.d")))
    return RegistryClient(registry, credentials=load_credentials(root, registry), tls=tls, timeout=timeout)
