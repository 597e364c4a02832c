"""``--change`` instructions (Dockerfile syntax) applied to an image config, as ``docker import`` does.

Allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. CMD, ENTRYPOINT
and VOLUME take the JSON (exec) form or the shell form; ENV and LABEL take ``k=v`` pairs (or the legacy
``ENV k v``). Operates on the ``config`` object of an OCI image config (Docker's capitalised keys).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from collections.abc import Iterable
from typing import Any

from runtime.errors import InvalidSpec

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")
DEFAULT_SHELL = ["/bin/sh", "-c"]
_PORT_RE = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)


def _bad(change: str, why: str) -> InvalidSpec:
    return InvalidSpec(f"invalid --change {change!r}: {why}",
                       hint=f"use Dockerfile syntax with one of {', '.join(ALLOWED)}, e.g. --change 'CMD [\"sh\"]'")


def _json_or_shell(change: str, args: str, shell: list[str]) -> list[str]:
    """Exec form when the argument is a JSON array of strings, shell form otherwise (Docker's rule)."""
    if args.startswith("["):
        try:
            parsed = json.loads(args)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
            return parsed
    return [*shell, args]


def _pairs(change: str, instruction: str, args: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(args, posix=True)
    except ValueError as exc:
        raise _bad(change, str(exc)) from None
    if not words:
        raise _bad(change, f"{instruction} needs at least one argument")
    if "=" not in words[0]:
        # Legacy form "ENV key value with spaces": one pair, the rest of the line is the value.
        if instruction == "ENV" or instruction == "LABEL":
            key, _, value = args.strip().partition(" ")
            if not value.strip():
                raise _bad(change, f"{instruction} {key} has no value")
            return [(key, value.strip())]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise _bad(change, f"{word!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs


def _set_env(config: dict[str, Any], key: str, value: str) -> None:
    env = [e for e in config.get("Env") or [] if e.partition("=")[0] != key]
    env.append(f"{key}={value}")
    config["Env"] = env


def apply_changes(config: dict[str, Any], changes: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the image ``config`` object with every change applied in order."""
    config = json.loads(json.dumps(config))
    cmd_set = False
    for change in changes:
        text = change.strip()
        if not text:
            continue
        instruction, _, args = text.partition(" ")
        instruction = instruction.upper()
        args = args.strip()
        if instruction not in ALLOWED:
            raise _bad(change, f"{instruction} is not allowed here")
        shell = config.get("Shell") or DEFAULT_SHELL
        if instruction == "CMD":
            config["Cmd"] = _json_or_shell(change, args, shell)
            cmd_set = True
        elif instruction == "ENTRYPOINT":
            config["Entrypoint"] = _json_or_shell(change, args, shell) if args else None
            if not cmd_set:
                config["Cmd"] = None  # Docker: a new ENTRYPOINT drops a CMD not set by these changes
        elif instruction == "ENV":
            for key, value in _pairs(change, instruction, args):
                _set_env(config, key, value)
        elif instruction == "LABEL":
            labels = dict(config.get("Labels") or {})
            labels.update(_pairs(change, instruction, args))
            config["Labels"] = labels
        elif instruction == "EXPOSE":
            ports = dict(config.get("ExposedPorts") or {})
            for word in args.split():
                m = _PORT_RE.match(word)
                if not m:
                    raise _bad(change, f"{word!r} is not PORT[-PORT][/PROTO]")
                first = int(m.group(1))
                last = int(m.group(2) or first)
                proto = (m.group(3) or "tcp").lower()
                if not 0 < first <= last <= 65535:
                    raise _bad(change, f"{word!r} is not a valid port range")
                for port in range(first, last + 1):
                    ports[f"{port}/{proto}"] = {}
            if not args.split():
                raise _bad(change, "EXPOSE needs at least one port")
            config["ExposedPorts"] = ports
        elif instruction == "VOLUME":
            volumes = dict(config.get("Volumes") or {})
            paths = _json_or_shell(change, args, []) if args.startswith("[") else args.split()
            if not paths or any(not p for p in paths):
                raise _bad(change, "VOLUME needs at least one path")
            for path in paths:
                volumes[path] = {}
            config["Volumes"] = volumes
        elif instruction == "WORKDIR":
            if not args:
                raise _bad(change, "WORKDIR needs a path")
            config["WorkingDir"] = posixpath.join(config.get("WorkingDir") or "/", args)
        elif instruction == "USER":
            if not args:
                raise _bad(change, "USER needs a user")
            config["User"] = args
        elif instruction == "STOPSIGNAL":
            if not args:
                raise _bad(change, "STOPSIGNAL needs a signal")
            config["StopSignal"] = args
        elif instruction == "ONBUILD":
            if not args:
                raise _bad(change, "ONBUILD needs an instruction")
            config["OnBuild"] = [*(config.get("OnBuild") or []), args]
    return config
