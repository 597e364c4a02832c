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
