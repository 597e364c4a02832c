"""Registry credentials and authentication challenges.

Credentials live in ``<root>/auth.json``, written in the layout of Docker's ``~/.docker/config.json``
(``{"auths": {"<host>": {"auth": base64("user:password")}}}``) with mode 0600, so the file can be copied to or
from a Docker client. When a host has no entry there, Docker's own config file ($DOCKER_CONFIG/config.json or
~/.docker/config.json) is read too (never written), so a user who ran ``docker login`` is not asked again;
its credential helpers (``credHelpers`` per registry, else ``credsStore``) are asked as Docker asks them:
``docker-credential-<name> get`` with the server on stdin.

``parse_challenges`` reads a ``WWW-Authenticate`` header (RFC 7235) into the schemes and parameters that
``runtime.images.registry`` answers with basic or bearer-token authentication.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import RegistryError

AUTH_FILE_NAME = "auth.json"
# Docker keys Docker Hub's credentials by its v1 index URL, not by "docker.io".
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io", DOCKER_HUB_KEY)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def basic_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"


@dataclass(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: ``scheme`` lower-cased, parameter names lower-cased."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


# ------------------------------------------------------------------------------------------- challenges


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``Bearer realm="https://auth/token",service="reg",scope="repository:a:pull", Basic realm="x"``.

    A header may carry several challenges separated by commas; a challenge starts with a bare token (the
    scheme), its parameters are ``name=token`` or ``name="quoted \\" string"``.
    """
    challenges: list[Challenge] = []
    pos, n = 0, len(header)
    current: Challenge | None = None
    while pos < n:
        while pos < n and header[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        start = pos
        while pos < n and header[pos] not in " \t,=":
            pos += 1
        token = header[start:pos]
        after = pos
        while after < n and header[after] in " \t":
            after += 1
        if after < n and header[after] == "=" and current is not None:
            pos = after + 1
            while pos < n and header[pos] in " \t":
                pos += 1
            value, pos = _read_value(header, pos)
            current.params[token.lower()] = value
        else:
            current = Challenge(scheme=token.lower())
            challenges.append(current)
            pos = after
    return challenges


def _read_value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            out.append(text[pos])
            pos += 1
        return "".join(out), pos + 1
    start = pos
    while pos < len(text) and text[pos] not in " \t,":
        pos += 1
    return text[start:pos], pos


# ------------------------------------------------------------------------------------------ credentials


def auth_file(root: Path) -> Path:
    return Path(root) / AUTH_FILE_NAME


def docker_config_file() -> Path:
    base = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(base) / "config.json"


def config_key(registry: str) -> str:
    """The key a registry host has in the ``auths`` map (Docker Hub's is its legacy index URL)."""
    return DOCKER_HUB_KEY if registry in DOCKER_HUB_ALIASES else registry


def _read_config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise RegistryError(f"cannot read the credentials file {path}: {exc}",
                            hint="fix or remove the file, then run 'hoist login' again") from exc
    if not isinstance(data, dict):
        raise RegistryError(f"the credentials file {path} is not a JSON object",
                            hint="fix or remove the file, then run 'hoist login' again")
    return data


def _entry_credentials(entry: object, where: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("username") and entry.get("password") is not None:
        return Credentials(str(entry["username"]), str(entry["password"]))
    encoded = entry.get("auth")
    if not encoded:
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryError(f"the credentials in {where} are not valid base64 'user:password'",
                            hint="run 'hoist login' again") from exc
    return Credentials(user, password)


def _lookup(auths: dict, registry: str) -> object:
    key = config_key(registry)
    if key in auths:
        return auths[key]
    # Entries written by older clients may carry a scheme or path ("https://host:5000/v2/").
    for name, entry in auths.items():
        bare = name.split("://", 1)[-1].split("/", 1)[0]
        if bare == registry or (key == DOCKER_HUB_KEY and bare in DOCKER_HUB_ALIASES):
            return entry
    return None


def load_credentials(root: Path, registry: str) -> Credentials | None:
    """Credentials for ``registry`` (a host[:port]) from hoist's file, else from Docker's config: its
    credential helper for the registry first (as Docker does), then its ``auths`` entry."""
    # hoist's own file holds what `hoist login` wrote (its "auths" only); Docker's may name helpers.
    for path, has_helpers in ((auth_file(root), False), (docker_config_file(), True)):
        config = _read_config(path)
        helper = _helper_for(config, registry) if has_helpers else None
        if helper is not None:
            found = _helper_credentials(helper, registry, path)
            if found is not None:
                return found
        auths = config.get("auths") or {}
        if isinstance(auths, dict):
            found = _entry_credentials(_lookup(auths, registry), path)
            if found is not None:
                return found
    return None


HELPER_PREFIX = "docker-credential-"
HELPER_TIMEOUT = 30.0
# What helpers print (docker-credential-helpers' ErrCredentialsNotFound) when they hold nothing for a server.
_NOT_FOUND = "credentials not found"


def _helper_for(config: dict, registry: str) -> str | None:
    """The credential helper Docker would ask for ``registry``: its ``credHelpers`` entry, else ``credsStore``."""
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        name = _lookup(helpers, registry)
        if isinstance(name, str) and name:
            return name
    store = config.get("credsStore")
    return store if isinstance(store, str) and store else None


def _helper_credentials(helper: str, registry: str, where: Path) -> Credentials | None:
    """``docker-credential-<helper> get`` as Docker runs it: the server (Docker Hub's index URL, else the
    host[:port]) on stdin, ``{"Username": ..., "Secret": ...}`` on stdout; "credentials not found" means none."""
    import shutil
    import subprocess

    program = HELPER_PREFIX + helper
    fix = f"install {program}, or remove credsStore/credHelpers from {where} and run 'hoist login'"
    if shutil.which(program) is None:
        raise RegistryError(f"{where} names the credential helper {helper!r}, but {program} is not on PATH",
                            hint=fix)
    server = config_key(registry)
    try:
        proc = subprocess.run([program, "get"], input=server, capture_output=True, text=True,
                              timeout=HELPER_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RegistryError(f"credential helper {program} did not answer for {server} within "
                            f"{HELPER_TIMEOUT:g}s", hint=fix) from None
    except OSError as exc:
        raise RegistryError(f"cannot run credential helper {program}: {exc.strerror or exc}", hint=fix) from None
    if proc.returncode != 0:
        message = (proc.stdout.strip() or proc.stderr.strip() or f"exit status {proc.returncode}")
        if _NOT_FOUND in message.lower():
            return None
        raise RegistryError(f"credential helper {program} failed for {server}: {message}", hint=fix)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise RegistryError(f"credential helper {program} answered {server} with something that is not JSON",
                            hint=fix) from None
    username = doc.get("Username") if isinstance(doc, dict) else None
    secret = doc.get("Secret") if isinstance(doc, dict) else None
    if not secret:
        return None
    if username == "<token>":
        # An identity token (OAuth2 refresh token) that Docker trades at the registry's token endpoint.
        raise RegistryError(f"credential helper {program} holds an identity token for {server}, which hoist "
                            "cannot use", hint=f"run 'hoist login {registry}' with a password or an access token")
    return Credentials(str(username or ""), str(secret))


def store_credentials(root: Path, registry: str, credentials: Credentials) -> Path:
    """Record credentials for ``registry`` in ``<root>/auth.json`` (mode 0600, replaced atomically)."""
    path = auth_file(root)
    data = _read_config(path)
    auths = data.setdefault("auths", {})
    auths[config_key(registry)] = {"auth": base64.b64encode(
        f"{credentials.username}:{credentials.password}".encode()).decode()}
    _write_private(path, data)
    return path


def remove_credentials(root: Path, registry: str) -> bool:
    """Forget ``registry``'s credentials; False when hoist had none stored for it."""
    path = auth_file(root)
    data = _read_config(path)
    auths = data.get("auths") or {}
    key = config_key(registry)
    if key not in auths:
        return False
    del auths[key]
    _write_private(path, data)
    return True


def _write_private(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 from the start, so the secret is never readable by others, not even
    # for the moment between write and chmod.
    fd, tmp = tempfile.mkstemp(prefix=".auth-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
