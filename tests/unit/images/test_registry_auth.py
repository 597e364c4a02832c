"""WWW-Authenticate parsing and the credentials file (Docker's config.json layout, mode 0600)."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from runtime.errors import RegistryError
from runtime.images import auth


def test_bearer_challenge_with_quoted_params() -> None:
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/busybox:pull"')
    [challenge] = auth.parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                                "scope": "repository:library/busybox:pull"}


def test_several_challenges_unquoted_values_and_escapes() -> None:
    header = 'Basic realm="a \\"quoted\\" realm", charset=UTF-8,  BEARER realm=https://t/x ,error="insufficient_scope"'
    challenges = auth.parse_challenges(header)
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[0].params == {"realm": 'a "quoted" realm', "charset": "UTF-8"}
    assert challenges[1].params == {"realm": "https://t/x", "error": "insufficient_scope"}


def test_scheme_without_params_and_empty_header() -> None:
    assert auth.parse_challenges("") == []
    [challenge] = auth.parse_challenges("Basic")
    assert challenge.scheme == "basic" and challenge.params == {}


def test_store_writes_docker_layout_with_mode_0600(tmp_path) -> None:
    path = auth.store_credentials(tmp_path, "localhost:5000", auth.Credentials("alice", "s3:cret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert base64.b64decode(doc["auths"]["localhost:5000"]["auth"]).decode() == "alice:s3:cret"
    assert auth.load_credentials(tmp_path, "localhost:5000") == auth.Credentials("alice", "s3:cret")
    assert auth.load_credentials(tmp_path, "other:5000") is None


def test_docker_hub_is_keyed_by_its_index_url(tmp_path) -> None:
    auth.store_credentials(tmp_path, "docker.io", auth.Credentials("bob", "pw"))
    doc = json.loads(auth.auth_file(tmp_path).read_text())
    assert list(doc["auths"]) == ["https://index.docker.io/v1/"]
    assert auth.load_credentials(tmp_path, "docker.io") == auth.Credentials("bob", "pw")


def test_logout_removes_only_that_registry_and_keeps_other_keys(tmp_path) -> None:
    auth.auth_file(tmp_path).write_text(json.dumps({"credsStore": "x", "auths": {}}))
    auth.store_credentials(tmp_path, "a:1", auth.Credentials("u", "p"))
    auth.store_credentials(tmp_path, "b:2", auth.Credentials("v", "q"))
    assert auth.remove_credentials(tmp_path, "a:1") is True
    assert auth.remove_credentials(tmp_path, "a:1") is False
    doc = json.loads(auth.auth_file(tmp_path).read_text())
    assert set(doc["auths"]) == {"b:2"} and doc["credsStore"] == "x"


def test_falls_back_to_docker_config(tmp_path, monkeypatch) -> None:
    docker_dir = tmp_path / "docker"
    docker_dir.mkdir()
    token = base64.b64encode(b"carol:pw2").decode()
    (docker_dir / "config.json").write_text(json.dumps({"auths": {"https://reg.example:443/v2/": {"auth": token}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    root = tmp_path / "root"
    assert auth.load_credentials(root, "reg.example:443") == auth.Credentials("carol", "pw2")
    # hoist's own file wins over Docker's.
    auth.store_credentials(root, "reg.example:443", auth.Credentials("dave", "pw3"))
    assert auth.load_credentials(root, "reg.example:443") == auth.Credentials("dave", "pw3")


def test_corrupt_file_is_a_clear_error(tmp_path) -> None:
    auth.auth_file(tmp_path).write_text("{not json")
    with pytest.raises(RegistryError, match="auth.json") as info:
        auth.load_credentials(tmp_path, "x:1")
    assert "hoist login" in str(info.value)


# ------------------------------------------------------------------------- Docker's credential helpers


def _helper(bin_dir, name: str, script: str) -> None:
    """A ``docker-credential-<name>`` on PATH that records what it was asked (argv, stdin) and runs ``script``."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text(f'#!/bin/sh\nread server\necho "$1 $server" >> "{bin_dir}/{name}.asked"\n{script}\n')
    path.chmod(0o755)


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    docker_dir = tmp_path / "docker"
    docker_dir.mkdir()
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")

    def write(doc: dict) -> None:
        (docker_dir / "config.json").write_text(json.dumps(doc))
    return write, bin_dir


def test_creds_store_is_asked_with_the_server_on_stdin(tmp_path, docker_config) -> None:
    write, bin_dir = docker_config
    write({"credsStore": "vault", "auths": {"reg.example:5000": {}}})
    _helper(bin_dir, "vault", 'echo "{\\"ServerURL\\": \\"$server\\", \\"Username\\": \\"erin\\", \\"Secret\\": \\"pw\\"}"')
    assert auth.load_credentials(tmp_path / "root", "reg.example:5000") == auth.Credentials("erin", "pw")
    assert auth.load_credentials(tmp_path / "root", "docker.io") == auth.Credentials("erin", "pw")
    # Docker Hub is asked for by its index URL, as Docker asks.
    assert (bin_dir / "vault.asked").read_text().splitlines() == [
        "get reg.example:5000", "get https://index.docker.io/v1/"]


def test_cred_helpers_per_registry_win_over_the_store(tmp_path, docker_config) -> None:
    write, bin_dir = docker_config
    write({"credsStore": "vault", "credHelpers": {"gcr.example": "gcloud"}})
    _helper(bin_dir, "vault", 'echo "{\\"Username\\": \\"store\\", \\"Secret\\": \\"s\\"}"')
    _helper(bin_dir, "gcloud", 'echo "{\\"Username\\": \\"oauth2accesstoken\\", \\"Secret\\": \\"tok\\"}"')
    assert auth.load_credentials(tmp_path / "root", "gcr.example") == auth.Credentials("oauth2accesstoken", "tok")
    assert auth.load_credentials(tmp_path / "root", "other.example") == auth.Credentials("store", "s")
    assert not (bin_dir / "vault.asked").read_text().count("gcr.example")


def test_not_found_in_the_helper_falls_back_to_auths_then_to_none(tmp_path, docker_config) -> None:
    write, bin_dir = docker_config
    token = base64.b64encode(b"frank:pw4").decode()
    write({"credsStore": "vault", "auths": {"old.example": {"auth": token}}})
    _helper(bin_dir, "vault", 'echo "credentials not found in native keychain"; exit 1')
    assert auth.load_credentials(tmp_path / "root", "old.example") == auth.Credentials("frank", "pw4")
    assert auth.load_credentials(tmp_path / "root", "new.example") is None


def test_hoist_login_wins_over_docker_helpers(tmp_path, docker_config) -> None:
    write, bin_dir = docker_config
    write({"credsStore": "vault"})
    _helper(bin_dir, "vault", 'echo "{\\"Username\\": \\"store\\", \\"Secret\\": \\"s\\"}"')
    root = tmp_path / "root"
    auth.store_credentials(root, "reg.example", auth.Credentials("mine", "pw"))
    assert auth.load_credentials(root, "reg.example") == auth.Credentials("mine", "pw")
    assert not (bin_dir / "vault.asked").exists()


@pytest.mark.parametrize(("script", "message"), [
    (None, "is not on PATH"),
    ('echo "keychain locked" >&2; exit 3', "failed for reg.example: keychain locked"),
    ("echo not-json", "not JSON"),
    ('echo "{\\"Username\\": \\"<token>\\", \\"Secret\\": \\"refresh\\"}"', "identity token"),
])
def test_helper_failures_are_clear_errors(tmp_path, docker_config, script, message) -> None:
    write, bin_dir = docker_config
    write({"credsStore": "vault"})
    bin_dir.mkdir(exist_ok=True)
    if script is not None:
        _helper(bin_dir, "vault", script)
    with pytest.raises(RegistryError, match=message) as info:
        auth.load_credentials(tmp_path / "root", "reg.example")
    assert info.value.hint
