"""From an image reference to the registry host, scheme policy and API paths."""

from __future__ import annotations

import pytest

from runtime.images import reference, registry


@pytest.mark.parametrize("ref, host, path", [
    ("busybox", "registry-1.docker.io", "/v2/library/busybox/manifests/latest"),
    ("index.docker.io/me/app:1", "registry-1.docker.io", "/v2/me/app/manifests/1"),
    ("localhost:5000/team/app:v2", "localhost:5000", "/v2/team/app/manifests/v2"),
    ("ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io", "/v2/o/r/manifests/sha256:" + "a" * 64),
    ("[::1]:5000/x:t", "[::1]:5000", "/v2/x/manifests/t"),
])
def test_reference_to_manifest_url(ref: str, host: str, path: str) -> None:
    parsed = reference.parse(ref)
    assert registry.api_host(parsed.domain) == host
    assert registry.manifest_path(parsed.path, parsed.digest or parsed.tag or "latest") == path


def test_blob_path() -> None:
    assert registry.blob_path("library/busybox", "sha256:" + "b" * 64) == \
        "/v2/library/busybox/blobs/sha256:" + "b" * 64


@pytest.mark.parametrize("host, loopback", [
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True), ("127.3.4.5", True),
    ("[::1]:5000", True), ("foo.localhost:80", True), ("128.0.0.1:5000", False),
    ("registry.example.com", False), ("docker.io", False), ("10.0.0.1:5000", False),
])
def test_loopback_registries_are_insecure_by_default(host: str, loopback: bool) -> None:
    assert registry.is_loopback(host) is loopback


def test_tls_config_finds_certs_d_files(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    folder = tmp_path / "certs.d" / "reg.example:5000"
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_text("x")
    (folder / "client.cert").write_text("x")
    (folder / "client.key").write_text("x")
    tls = registry.TLSConfig(certs_dirs=(tmp_path / "certs.d",))
    cas, pairs = tls.host_files("reg.example:5000")
    assert cas == [folder / "ca.crt"]
    assert pairs == [(folder / "client.cert", folder / "client.key")]
    assert tls.custom_cas("other:1") == []
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/some/bundle.pem")
    assert tls.custom_cas("other:1") == [registry.Path("/some/bundle.pem")]


def test_loopback_checks_certificates_only_with_a_ca_for_that_host(monkeypatch) -> None:
    import ssl

    bundle = "/etc/ssl/certs/ca-certificates.crt"
    monkeypatch.setenv("SSL_CERT_FILE", bundle)  # a general bundle, as many environments set
    assert registry.TLSConfig().context("127.0.0.1:5000", verify=False).verify_mode == ssl.CERT_NONE
    pinned = registry.TLSConfig(ca_file=registry.Path(bundle))
    assert pinned.context("127.0.0.1:5000", verify=False).verify_mode == ssl.CERT_REQUIRED
    assert registry.TLSConfig().context("registry.example", verify=True).verify_mode == ssl.CERT_REQUIRED
