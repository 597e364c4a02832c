"""Instructions that only change the image config (ENV, LABEL, CMD, ...): their effect on the config JSON.

Operates on the ``config`` object of an OCI/Docker image config (Docker's capitalised keys), the same
document the image store writes.
"""

from __future__ import annotations

from typing import Any

from runtime.images.build.instructions import (
    Command,
    ExecOrShell,
    HealthcheckCommand,
    KeyValues,
    ShellCommand,
    Value,
    Words,
)

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NS = 1_000_000_000


def shell_of(config: dict[str, Any]) -> list[str]:
    return list(config.get("Shell") or DEFAULT_SHELL)


def env_of(config: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def set_env(config: dict[str, Any], pairs: list[tuple[str, str]]) -> None:
    env = env_of(config)
    for key, value in pairs:
        env[key] = value
    config["Env"] = [f"{k}={v}" for k, v in env.items()]


def apply(config: dict[str, Any], keyword: str, cmd: Command) -> None:
    """Apply a metadata-only instruction to ``config`` in place."""
    if keyword == "ENV":
        assert isinstance(cmd, KeyValues)
        set_env(config, cmd.pairs)
    elif keyword == "LABEL":
        assert isinstance(cmd, KeyValues)
        labels = dict(config.get("Labels") or {})
        labels.update(dict(cmd.pairs))
        config["Labels"] = labels
    elif keyword == "MAINTAINER":
        assert isinstance(cmd, Value)
        config["_author"] = cmd.value  # moved to the top-level "author" field when the image is written
    elif keyword in ("CMD", "ENTRYPOINT"):
        assert isinstance(cmd, ExecOrShell)
        argv = cmd.argv if cmd.argv is not None else [*shell_of(config), cmd.script or ""]
        if keyword == "CMD":
            config["Cmd"] = argv
        else:
            config["Entrypoint"] = argv
            # Docker: setting ENTRYPOINT clears a CMD inherited from the base image (not one set later).
            if not config.get("_cmd_set_in_stage"):
                config["Cmd"] = None
        if keyword == "CMD":
            config["_cmd_set_in_stage"] = True
    elif keyword == "EXPOSE":
        assert isinstance(cmd, Words)
        ports = dict(config.get("ExposedPorts") or {})
        for port in cmd.words:
            number, _, proto = port.partition("/")
            proto = (proto or "tcp").lower()
            if "-" in number:
                low, high = (int(x) for x in number.split("-", 1))
                for p in range(low, high + 1):
                    ports[f"{p}/{proto}"] = {}
            else:
                ports[f"{int(number)}/{proto}"] = {}
        config["ExposedPorts"] = ports
    elif keyword == "VOLUME":
        assert isinstance(cmd, Words)
        volumes = dict(config.get("Volumes") or {})
        for path in cmd.words:
            volumes[path] = {}
        config["Volumes"] = volumes
    elif keyword == "USER":
        assert isinstance(cmd, Value)
        config["User"] = cmd.value
    elif keyword == "STOPSIGNAL":
        assert isinstance(cmd, Value)
        config["StopSignal"] = cmd.value
    elif keyword == "SHELL":
        assert isinstance(cmd, ShellCommand)
        config["Shell"] = cmd.argv
    elif keyword == "HEALTHCHECK":
        assert isinstance(cmd, HealthcheckCommand)
        hc: dict[str, Any] = {"Test": cmd.test}
        for key, value in (("Interval", cmd.interval), ("Timeout", cmd.timeout),
                           ("StartPeriod", cmd.start_period), ("StartInterval", cmd.start_interval)):
            if value is not None:
                hc[key] = int(value * _NS)
        if cmd.retries is not None:
            hc["Retries"] = cmd.retries
        config["Healthcheck"] = hc
    elif keyword == "ONBUILD":
        assert isinstance(cmd, Value)
        config["OnBuild"] = [*(config.get("OnBuild") or []), cmd.value]
    else:
        raise ValueError(f"{keyword} is not a metadata instruction")


def workdir(config: dict[str, Any], path: str) -> str:
    """WORKDIR: a relative path is relative to the previous one. Returns the new absolute directory."""
    import posixpath

    base = config.get("WorkingDir") or "/"
    new = posixpath.normpath(posixpath.join(base, path))
    config["WorkingDir"] = new
    return new


def finish(doc: dict[str, Any]) -> dict[str, Any]:
    """The config document as it is written: private bookkeeping keys removed, empty values dropped."""
    out = dict(doc)
    config = dict(out.get("config") or {})
    author = config.pop("_author", None)
    config.pop("_cmd_set_in_stage", None)
    if author:
        out["author"] = author
    out["config"] = {k: v for k, v in config.items() if v not in (None, [], {}, "")}
    return out
