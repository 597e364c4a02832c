"""compose's ``com.docker.compose.config-hash``: what decides whether ``up`` recreates a container."""

from __future__ import annotations

import copy
import json
from typing import Any

from runtime.sha256 import sha256  # a short text: see runtime/sha256.py

# Changing these never requires a recreate (compose removes them before hashing).
_IGNORED_KEYS = ("build", "pull_policy", "scale", "depends_on", "profiles")


def hashed_config(service: dict[str, Any]) -> dict[str, Any]:
    """The part of a service's canonical form that the hash covers."""
    data = {k: v for k, v in service.items() if k not in _IGNORED_KEYS}
    deploy = data.get("deploy")
    if isinstance(deploy, dict) and "replicas" in deploy:
        data["deploy"] = copy.copy(deploy)
        del data["deploy"]["replicas"]
    return data


def canonical_json(service: dict[str, Any]) -> str:
    return json.dumps(hashed_config(service), sort_keys=True, separators=(",", ":"), default=str)


def service_config_hash(service: dict[str, Any]) -> str:
    """sha256 of the service's canonical JSON without the keys that do not affect the container."""
    return sha256(canonical_json(service).encode()).hexdigest()
