"""Why ``up`` would recreate a container: which of its service's keys changed since it was created.

The config hash on a container (``com.docker.compose.config-hash``) says only *that* its service changed.
When hoist creates a container it also keeps what it hashed, content-addressed, in the project's state
directory (``configs/<hash>.json``, removed with the project's last container), so a later plan can name
the keys that differ: ``recreate shop-web-1 (configuration changed: environment, ports)``. Containers
made before this existed, or by another tool, keep the plain reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from compose.confighash import canonical_json

CHANGED = "configuration changed"


def _path(state_dir: Path, config_hash: str) -> Path:
    return state_dir / "configs" / f"{config_hash}.json"


def remember(state_dir: Path, config_hash: str, service: dict[str, Any]) -> None:
    """Keep what ``config_hash`` was computed from (once per hash; best effort: only an explanation)."""
    path = _path(state_dir, config_hash)
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(canonical_json(service))
        os.replace(tmp, path)
    except OSError:
        pass


def changed_keys(state_dir: Path, old_hash: str, service: dict[str, Any]) -> list[str] | None:
    """The top-level keys whose values differ between the config behind ``old_hash`` and ``service``
    (added and removed keys included); None when the old config is unknown."""
    try:
        old = json.loads(_path(state_dir, old_hash).read_text())
    except (OSError, ValueError):
        return None
    new = json.loads(canonical_json(service))
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


def explain(reason: str, state_dir: Path | None, old_hash: str | None, service: dict[str, Any]) -> str:
    """``reason`` with the changed keys named, when it is the plain "configuration changed"."""
    if reason != CHANGED or state_dir is None or not old_hash:
        return reason
    keys = changed_keys(state_dir, old_hash, service)
    return f"{CHANGED}: {', '.join(keys)}" if keys else reason


def prune(state_dir: Path, keep: Iterable[str]) -> None:
    """Forget the configs of hashes no container (or desired service) has any more."""
    wanted = {f"{h}.json" for h in keep}
    try:
        entries = list((state_dir / "configs").iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(".json") and entry.name not in wanted:
            try:
                entry.unlink()
            except OSError:
                pass
