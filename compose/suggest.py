"""Did-you-mean suggestions for misspelt keys and names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Words people write for a key that spelling similarity alone would not find (or would find wrongly).
KEY_ALIASES = {
    "env": "environment", "envs": "environment", "env_vars": "environment", "variables": "environment",
    "vars": "environment",
    "memory": "mem_limit", "mem": "mem_limit", "memory_limit": "mem_limit",
    "net": "network_mode",
    "name": "container_name",
    "cwd": "working_dir", "workdir": "working_dir",
    "mount": "volumes", "mounts": "volumes",
    "publish": "ports",
    "caps": "cap_add", "capabilities": "cap_add",
    "dns_servers": "dns",
    "tag": "image",
}
# Keys that exist, but one level down: `dockerfile:` written directly in a service belongs under `build:`.
NESTED_HOMES = {
    "context": "build", "dockerfile": "build", "dockerfile_inline": "build", "args": "build", "target": "build",
    "replicas": "deploy", "resources": "deploy", "restart_policy": "deploy", "placement": "deploy",
    "interval": "healthcheck", "timeout": "healthcheck", "retries": "healthcheck", "test": "healthcheck",
    "start_period": "healthcheck", "start_interval": "healthcheck",
    "aliases": "networks.<network>", "ipv4_address": "networks.<network>",
    "watch": "develop",
}


def closest(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate most similar to ``word`` (case-insensitive), or None when nothing is close enough."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """``did you mean `image`?`` for a typo of a known word, else None."""
    known = list(candidates)
    lowered = word.lower()
    alias = KEY_ALIASES.get(lowered)
    # An alias applies only where its target is a sibling key and the word itself is not a key there.
    if alias in known and lowered not in known:
        return f"did you mean `{alias}`?"
    home = NESTED_HOMES.get(lowered)
    if home and home.split(".")[0] in known and lowered not in known:
        return f"`{word}` belongs under `{home}:`"
    match = closest(word, known)
    return f"did you mean `{match}`?" if match else None

