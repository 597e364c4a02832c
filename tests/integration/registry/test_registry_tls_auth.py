"""HTTPS with a self-signed certificate and htpasswd basic auth: login/logout, push, pull, CA handling."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.errors import NotFound, RegistryError
from runtime.images.pull import pull_image
from runtime.images.push import push_image
from runtime.images.store import ImageStore
from tests.support.registry_images import make_multilayer_image
from tests.support.registry_server import TEST_PASSWORD, TEST_USER, RegistryServer

PROJECT_DIR = Path(__file__).resolve().parents[3]


def hoist(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "compose.cli.main", "--root", str(root), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, cwd=PROJECT_DIR)


def trust(root: Path, server: RegistryServer, cert: Path) -> None:
    folder = root / "certs.d" / server.host
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(cert, folder / "ca.crt")


def test_login_push_pull_logout_over_https(hoist_root: Path, busybox_image: str,
                                           secure_registry: RegistryServer, unique_id: str) -> None:
    store = ImageStore(hoist_root)
    trust(hoist_root, secure_registry, secure_registry.cert)
    ref = f"{secure_registry.host}/s{unique_id}/app:1"
    image_id = make_multilayer_image(store, busybox_image, ref)

    with pytest.raises(RegistryError, match="HTTP 401") as info:
        push_image(store, ref)
    assert f"hoist login {secure_registry.host}" in str(info.value)

    bad = hoist(hoist_root, "login", secure_registry.host, "-u", TEST_USER, "--password-stdin", stdin="wrong\n")
    assert bad.returncode == 1 and "incorrect username or password" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (hoist_root / "auth.json").exists()

    good = hoist(hoist_root, "login", f"https://{secure_registry.host}/v2/", "-u", TEST_USER, "--password-stdin",
                 stdin=TEST_PASSWORD + "\n")
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "Login Succeeded"
    auth_file = hoist_root / "auth.json"
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert secure_registry.host in json.loads(auth_file.read_text())["auths"]

    pushed = hoist(hoist_root, "image", "push", ref)
    assert pushed.returncode == 0, pushed.stderr
    assert ": Pushed" in pushed.stdout and "1: digest: sha256:" in pushed.stdout

    store.remove(ref)
    pulled = hoist(hoist_root, "image", "pull", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert "Pull complete" in pulled.stdout and "Status: Downloaded newer image" in pulled.stdout
    assert store.resolve(ref).id == image_id

    out = hoist(hoist_root, "logout", secure_registry.host)
    assert out.returncode == 0 and out.stdout.strip() == f"Removing login credentials for {secure_registry.host}"
    assert hoist(hoist_root, "logout", secure_registry.host).stdout.strip() == \
        f"Not logged in to {secure_registry.host}"
    store.remove(ref)
    failed = hoist(hoist_root, "image", "pull", "-q", ref)
    assert failed.returncode == 1 and "HTTP 401" in failed.stderr and "hoist login" in failed.stderr
    with pytest.raises(NotFound):
        store.resolve(ref)


def test_certificate_checks(hoist_root: Path, busybox_image: str, secure_registry: RegistryServer,
                            unique_id: str, tmp_path: Path) -> None:
    from runtime.images.auth import Credentials, store_credentials

    store = ImageStore(hoist_root)
    store_credentials(hoist_root, secure_registry.host, Credentials(TEST_USER, TEST_PASSWORD))
    ref = f"{secure_registry.host}/c{unique_id}/app:1"
    make_multilayer_image(store, busybox_image, ref)

    # No CA configured: a loopback registry is "insecure" as in Docker, so its certificate is not checked.
    push_image(store, ref)

    # A CA configured for the host is enforced: a certificate it did not sign is refused.
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout", str(tmp_path / "other.key"),
                    "-out", str(other)], check=True, capture_output=True)
    trust(hoist_root, secure_registry, other)
    with pytest.raises(RegistryError, match="cannot be verified") as info:
        pull_image(store, ref)
    assert "certs.d" in str(info.value)

    # The right CA given as --ca-file (on top of the wrong certs.d one) verifies.
    store.remove(ref)
    assert pull_image(store, ref, ca_file=secure_registry.cert).tags == [ref]


def test_push_and_pull_with_credentials_from_a_docker_credential_helper(
        hoist_root: Path, busybox_image: str, secure_registry: RegistryServer, unique_id: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `hoist login`: Docker's config names a credential helper (credsStore), which hoist runs as Docker
    does, with the registry on stdin."""
    store = ImageStore(hoist_root)
    trust(hoist_root, secure_registry, secure_registry.cert)
    ref = f"{secure_registry.host}/h{unique_id}/app:1"
    image_id = make_multilayer_image(store, busybox_image, ref)
    docker_dir, bin_dir = tmp_path / "docker", tmp_path / "bin"
    docker_dir.mkdir()
    bin_dir.mkdir()
    (docker_dir / "config.json").write_text(json.dumps({"credsStore": "testvault", "auths": {}}))
    helper = bin_dir / "docker-credential-testvault"
    helper.write_text("#!/bin/sh\nread server\n"
                      f'[ "$1 $server" = "get {secure_registry.host}" ] || exit 1\n'
                      f'echo \'{{"ServerURL": "{secure_registry.host}", "Username": "{TEST_USER}", '
                      f'"Secret": "{TEST_PASSWORD}"}}\'\n')
    helper.chmod(0o755)
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    push_image(store, ref)
    store.remove(ref)
    pulled = hoist(hoist_root, "image", "pull", "-q", ref)
    assert pulled.returncode == 0, pulled.stderr
    assert store.resolve(ref).id == image_id
    assert not (hoist_root / "auth.json").exists()
