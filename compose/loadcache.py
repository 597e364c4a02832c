"""A cache of loaded projects, so ``up``/``ps``/``config -q`` do not re-validate an unchanged project.

Key: the load options. Entry: the loaded canonical document plus a manifest of everything it depended on:
the content hash of every file read (compose files, included/extended files, env files; absent optional files
too), the discovery result, and the value of every variable looked up. A hit re-runs discovery (cheap:
stdlib only) and re-hashes the files; any difference is a miss. Warnings are replayed on a hit.

The cache lives under ``$XDG_CACHE_HOME/hoist/load`` (``~/.cache`` by default), never in the project.
``HOIST_NO_LOAD_CACHE=1`` disables it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from typing import Any

from runtime.sha256 import sha256

FORMAT_VERSION = 3
MAX_ENTRIES = 256
# Variables that steer discovery itself: always part of the manifest.
DISCOVERY_VARIABLES = ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_PATH_SEPARATOR",
                       "COMPOSE_ENV_FILES", "COMPOSE_DISABLE_ENV_FILE", "HOME")

_local = threading.local()


def record_read(path: str, data: bytes | str | None) -> None:
    """Called by every reader of an input file during a load (``None`` = the file did not exist)."""
    reads: dict[str, str | None] | None = getattr(_local, "reads", None)
    if reads is None:
        return
    if data is None:
        reads[os.path.abspath(path)] = None
    else:
        raw = data.encode() if isinstance(data, str) else data
        reads[os.path.abspath(path)] = sha256(raw).hexdigest()


@contextlib.contextmanager
def _tracking() -> Iterator[dict[str, str | None]]:
    previous = getattr(_local, "reads", None)
    _local.reads = {}
    try:
        yield _local.reads
    finally:
        _local.reads = previous


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "hoist", "load")


def _file_hash(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _key(options: Any) -> str:
    fields = {name: getattr(options, name) for name in (
        "files", "project_name", "project_directory", "profiles", "env_files", "services", "interpolate",
        "normalize", "resolve_paths", "consistency", "resolve_environment")}
    fields["cwd"] = os.path.abspath(options.cwd or os.getcwd())
    fields["v"] = FORMAT_VERSION
    text = json.dumps(fields, sort_keys=True, default=str)
    return sha256(text.encode()).hexdigest()[:32]


def _environ(options: Any) -> dict[str, str]:
    return dict(os.environ if options.environ is None else options.environ)


def _discovery_fingerprint(options: Any) -> Any:
    from compose.discovery import discover

    found = discover(files=options.files or None, project_directory=options.project_directory,
                     project_name=options.project_name, profiles=options.profiles or None,
                     env_files=options.env_files or None, environ=options.environ, cwd=options.cwd)
    return [found.files, found.working_dir, found.env_files, found.profiles, found.project_name]


def cached_load(options: Any, load: Callable[[Any], Any]) -> Any:
    """``load(options)``, or the cached result when none of its inputs changed."""
    if os.environ.get("HOIST_NO_LOAD_CACHE") == "1" or "-" in (options.files or []):
        return load(options)
    path = os.path.join(cache_dir(), _key(options) + ".pickle")
    environ = _environ(options)
    fingerprint = _discovery_fingerprint(options)
    entry = _read(path)
    if entry is not None and _valid(entry, fingerprint, environ):
        loaded = entry["loaded"]
        if options.warn:
            for message in loaded.warnings:
                options.warn(message)
        return loaded
    with _tracking() as reads:
        loaded = load(options)
    names = set(loaded.used_variables) | set(DISCOVERY_VARIABLES)
    entry = {"fingerprint": fingerprint, "reads": dict(reads),
             "variables": {n: environ.get(n) for n in names}, "loaded": loaded}
    _write(path, entry)
    return loaded


def _valid(entry: dict[str, Any], fingerprint: Any, environ: dict[str, str]) -> bool:
    if entry.get("fingerprint") != fingerprint:
        return False
    for name, value in entry["variables"].items():
        if environ.get(name) != value:
            return False
    return all(_file_hash(p) == digest for p, digest in entry["reads"].items())


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            entry = pickle.load(fh)
    except Exception:  # a missing, truncated or stale-format entry is simply a miss
        return None
    return entry if isinstance(entry, dict) and entry.get("v") == FORMAT_VERSION else None


def _write(path: str, entry: dict[str, Any]) -> None:
    entry["v"] = FORMAT_VERSION
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        import tempfile  # only when writing: `ps` on a cached project never does

        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        _prune(os.path.dirname(path))
    except OSError:
        pass  # a read-only home must not break loading


def _prune(directory: str) -> None:
    """Keep the newest MAX_ENTRIES entries: one per (options, directory) pair ever loaded adds up."""
    entries = [e for e in os.scandir(directory) if e.name.endswith(".pickle")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for entry in entries[:len(entries) - MAX_ENTRIES]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
